// Queries on Idempotency-Key records. A record is claimed (no status) before the work and
// completed inside the work's own transaction.
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { idempotencyKeys } from '../schema/index.ts';

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/**
 * Claims `key`; returns undefined when claimed now, or the existing record. An unfinished claim
 * older than `abandonedBefore` belonged to a request that died (its transaction would have
 * completed it), so it is taken over.
 */
export async function claimIdempotencyKey(db: Db, key: string, requestHash: string, abandonedBefore: Date): Promise<IdempotencyRecord | undefined> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), isNull(idempotencyKeys.status), lt(idempotencyKeys.createdAt, abandonedBefore)));
  const inserted = await db.insert(idempotencyKeys).values({ key, requestHash }).onConflictDoNothing().returning();
  if (inserted.length > 0) return undefined;
  const [existing] = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
  return existing;
}

export async function completeIdempotencyKey(db: Db, key: string, status: number, resourceId: string): Promise<void> {
  await db.update(idempotencyKeys).set({ status, resourceId }).where(eq(idempotencyKeys.key, key));
}

/** Releases a claim whose work failed, so that a retry may run it again. */
export async function releaseIdempotencyKey(db: Db, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), isNull(idempotencyKeys.status)));
}

export async function pruneIdempotencyKeys(db: Db, olderThan: Date): Promise<void> {
  await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, olderThan));
}
