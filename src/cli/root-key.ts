// `kmsgw root-key rotate`: a new root key version seals all local material from now on; material
// sealed under older versions is re-sealed, and old versions stay in the keyring so nothing that
// was not yet re-sealed is lost.
import { loadConfig } from '../config.ts';
import { resealLocalMaterial } from '../db/queries/local-material.ts';
import { RootKeyring } from '../../providers/local/rootkeys.ts';
import { withDatabase } from './database.ts';

export async function rotateRootKey(): Promise<void> {
  const { dataDir } = loadConfig();
  // The database first: one a running gateway holds refuses before the keyring changes.
  await withDatabase(async (database) => {
    const keyring = RootKeyring.open(dataDir);
    const version = keyring.rotate();
    const count = await resealLocalMaterial(database.db, keyring);
    console.log(`root key version ${version} is current; re-sealed ${count} key versions`);
  });
}
