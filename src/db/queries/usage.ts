// Usage statistics: one batched write per flush, and the reads behind key detail and the dashboard.
import { and, asc, eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { keyUsage, usageHourly } from '../schema/index.ts';

export interface KeyCount { keyId: string; operation: string; count: number; lastUsedAt: Date }
export interface HourCount { hour: Date; connection: string; operation: string; count: number }

/** Adds counts; several instances flushing at once add up, and a last use never moves back. */
export async function addUsage(db: Db, perKey: KeyCount[], perHour: HourCount[]): Promise<void> {
  if (perKey.length > 0) {
    await db.insert(keyUsage).values(perKey).onConflictDoUpdate({
      target: [keyUsage.keyId, keyUsage.operation],
      set: { count: sql`${keyUsage.count} + excluded.count`, lastUsedAt: sql`greatest(${keyUsage.lastUsedAt}, excluded.last_used_at)` },
    });
    const last = new Map<string, Date>();
    for (const u of perKey) if (!(last.get(u.keyId)! >= u.lastUsedAt)) last.set(u.keyId, u.lastUsedAt);
    // Dates go in as text with a cast: drivers map Date parameters only through a column.
    const rows = sql.join([...last].map(([id, at]) => sql`(${id}, ${at.toISOString()}::timestamptz)`), sql`, `);
    await db.execute(sql`update keys set last_used_at = v.at from (values ${rows}) as v(id, at)
      where keys.id = v.id and (keys.last_used_at is null or keys.last_used_at < v.at)`);
  }
  if (perHour.length > 0) {
    await db.insert(usageHourly).values(perHour).onConflictDoUpdate({
      target: [usageHourly.hour, usageHourly.connection, usageHourly.operation],
      set: { count: sql`${usageHourly.count} + excluded.count` },
    });
  }
}

export async function keyUsageOf(db: Db, keyId: string) {
  return db.select({ operation: keyUsage.operation, count: keyUsage.count, lastUsedAt: keyUsage.lastUsedAt })
    .from(keyUsage).where(eq(keyUsage.keyId, keyId)).orderBy(asc(keyUsage.operation));
}

export async function usageSince(db: Db, since: Date, connection?: string) {
  return db.select().from(usageHourly)
    .where(and(gte(usageHourly.hour, since), connection ? eq(usageHourly.connection, connection) : undefined))
    .orderBy(asc(usageHourly.hour));
}
