// Queries on bindings and their version maps.
import type { Db } from '../client.ts';
import { bindingVersions, keyBindings, keyVersions } from '../schema/index.ts';
import { asc, eq } from 'drizzle-orm';

export async function insertBinding(db: Db, row: typeof keyBindings.$inferInsert): Promise<void> {
  await db.insert(keyBindings).values(row);
}

/** Records gateway version `version` of a key and where each binding keeps it. */
export async function insertVersion(db: Db, keyId: string, version: number, refs: { bindingId: string; versionRef: string }[]): Promise<void> {
  await db.insert(keyVersions).values({ keyId, version });
  if (refs.length > 0) await db.insert(bindingVersions).values(refs.map((r) => ({ ...r, version })));
}

export async function listVersions(db: Db, keyId: string) {
  return db.select({ version: keyVersions.version, createdAt: keyVersions.createdAt }).from(keyVersions)
    .where(eq(keyVersions.keyId, keyId)).orderBy(asc(keyVersions.version));
}
