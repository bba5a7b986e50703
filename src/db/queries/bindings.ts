// Queries on bindings and their version maps.
import type { Db } from '../client.ts';
import { bindingVersions, keyBindings, keys, keyVersions } from '../schema/index.ts';
import { and, asc, eq, exists, inArray, sql } from 'drizzle-orm';

export async function insertBinding(db: Db, row: typeof keyBindings.$inferInsert): Promise<void> {
  await db.insert(keyBindings).values(row);
}

/**
 * Where a binding that was behind now keeps an existing gateway version; it is in sync again if that
 * is still the key's current version (a rotation meanwhile may have left it behind once more).
 */
export async function catchUpBinding(db: Db, keyId: string, bindingId: string, version: number, versionRef: string): Promise<void> {
  await db.insert(bindingVersions).values({ bindingId, version, versionRef });
  await db.update(keyBindings).set({ syncStatus: 'in_sync' })
    .where(and(eq(keyBindings.id, bindingId), exists(db.select({ one: sql`1` }).from(keys).where(and(eq(keys.id, keyId), eq(keys.currentVersion, version))))));
}

/** A rotation's outcome per binding: in sync if it made the version, behind (until the sync job makes it) if not. */
export async function setSyncStatus(db: Db, bindingIds: string[], status: 'in_sync' | 'behind'): Promise<void> {
  if (bindingIds.length > 0) await db.update(keyBindings).set({ syncStatus: status }).where(inArray(keyBindings.id, bindingIds));
}

/** Keys with a binding behind, for the scheduled sync. */
export async function keysBehind(db: Db, limit: number): Promise<string[]> {
  const rows = await db.selectDistinct({ keyId: keyBindings.keyId }).from(keyBindings).where(eq(keyBindings.syncStatus, 'behind')).limit(limit);
  return rows.map((r) => r.keyId);
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
