// The local provider's material store port, backed by the local_key_material table.
import { and, eq, max, ne } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { isUniqueViolation } from '../errors.ts';
import { KmsError } from '../../errors.ts';
import { localKeyMaterial } from '../schema/index.ts';
import { materialAad, type MaterialStore } from '../../../providers/local/index.ts';
import type { RootKeyring } from '../../../providers/local/rootkeys.ts';

export function materialStore(db: Db): MaterialStore {
  return {
    async put(row) {
      try {
        await db.insert(localKeyMaterial).values({ ...row, sealed: Buffer.from(row.sealed) });
      } catch (err) {
        // Two rotations raced to the same next version: the loser is told so, not answered 500.
        if (isUniqueViolation(err)) throw new KmsError('FAILED_PRECONDITION', 'the key was rotated concurrently; retry', { cause: err });
        throw err;
      }
    },
    async get(ref, version) {
      const [row] = await db.select({ sealed: localKeyMaterial.sealed }).from(localKeyMaterial)
        .where(and(eq(localKeyMaterial.ref, ref), eq(localKeyMaterial.version, version)));
      return row?.sealed;
    },
    async made(operation) {
      const [row] = await db.select({ ref: localKeyMaterial.ref, version: localKeyMaterial.version }).from(localKeyMaterial).where(eq(localKeyMaterial.operation, operation));
      return row;
    },
    async latestVersion(ref) {
      const [row] = await db.select({ v: max(localKeyMaterial.version) }).from(localKeyMaterial).where(eq(localKeyMaterial.ref, ref));
      return row?.v ?? 0;
    },
    async deleteAll(ref) {
      await db.delete(localKeyMaterial).where(eq(localKeyMaterial.ref, ref));
    },
  };
}

/** Re-seals every row not yet under the keyring's current root version; returns how many. */
export async function resealLocalMaterial(db: Db, keyring: RootKeyring): Promise<number> {
  const current = keyring.currentVersion;
  const rows = await db.select().from(localKeyMaterial).where(ne(localKeyMaterial.rootVersion, current));
  for (const row of rows) {
    const aad = materialAad(row.ref, row.version);
    const sealed = keyring.seal(keyring.unseal(row.sealed, aad), aad);
    await db.update(localKeyMaterial).set({ sealed: Buffer.from(sealed), rootVersion: current })
      .where(and(eq(localKeyMaterial.ref, row.ref), eq(localKeyMaterial.version, row.version), eq(localKeyMaterial.rootVersion, row.rootVersion)));
  }
  return rows.length;
}
