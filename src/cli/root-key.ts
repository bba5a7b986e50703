// `kmsgw root-key rotate`: a new root key version seals all local material from now on; material
// sealed under older versions is re-sealed, and old versions stay in the keyring so nothing that
// was not yet re-sealed is lost.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { resealLocalMaterial } from '../db/queries/local-material.ts';
import { RootKeyring } from '../../providers/local/rootkeys.ts';
import { join } from 'node:path';

export async function rotateRootKey(): Promise<void> {
  const config = loadConfig();
  const keyring = RootKeyring.open(config.dataDir);
  const version = keyring.rotate();
  const database = await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pglite: join(config.dataDir, 'pglite') });
  try {
    const count = await resealLocalMaterial(database.db, keyring);
    console.log(`root key version ${version} is current; re-sealed ${count} key versions`);
  } finally {
    await database.close();
  }
}
