// Queries on API keys. Revocation and creation NOTIFY every instance, whose credential caches
// then drop the key at once rather than when their entries expire.
import { asc, eq, isNull, sql } from 'drizzle-orm';
import { notify, type Db } from '../client.ts';
import { apiKeys } from '../schema/index.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export const API_KEY_CHANNEL = 'kmsgw_api_keys';

export async function insertApiKey(db: Db, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [inserted] = await db.insert(apiKeys).values(row).returning();
  return inserted!;
}

export async function findApiKeyByHash(db: Db, secretHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, secretHash));
  return row;
}

export async function listApiKeys(db: Db): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

export async function countLiveApiKeys(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(apiKeys).where(isNull(apiKeys.revokedAt));
  return row!.n;
}

/** Revokes a key (once: a second revocation changes nothing) and tells every instance. */
export async function revokeApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(apiKeys).set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` }).where(eq(apiKeys.id, id)).returning();
    if (row) await notify(tx, API_KEY_CHANNEL, row.secretHash);
    return row;
  });
}

export async function touchApiKey(db: Db, id: string, at: Date): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
}
