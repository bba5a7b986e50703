// Queries on aliases.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { keyAliases } from '../schema/index.ts';

export async function insertAliases(db: Db, keyId: string, names: string[]): Promise<void> {
  if (names.length > 0) await db.insert(keyAliases).values(names.map((name) => ({ name, keyId })));
}

/** Returns whether the alias existed on that key. */
export async function deleteAlias(db: Db, keyId: string, name: string): Promise<boolean> {
  const rows = await db.delete(keyAliases).where(and(eq(keyAliases.keyId, keyId), eq(keyAliases.name, name))).returning();
  return rows.length > 0;
}

export async function aliasOwner(db: Db, name: string): Promise<string | undefined> {
  const [row] = await db.select({ keyId: keyAliases.keyId }).from(keyAliases).where(eq(keyAliases.name, name));
  return row?.keyId;
}
