// Queries on the stored access policies. Every change inserts a version, in a transaction that
// also tells every instance (NOTIFY) to reload the set in force.
import { desc, eq } from 'drizzle-orm';
import { notify, type Db } from '../client.ts';
import { policies } from '../schema/index.ts';

export type PolicyRow = typeof policies.$inferSelect;
export type NewPolicyVersion = Omit<typeof policies.$inferInsert, 'version' | 'createdAt'>;

/** Each policy's newest version, unless that version removed it or (for a grant) it has lapsed. */
export async function activePolicies(db: Db, now: Date): Promise<PolicyRow[]> {
  const rows = await latestVersions(db);
  return rows.filter((r) => !r.removed && (!r.expiresAt || r.expiresAt > now));
}

export async function latestVersions(db: Db): Promise<PolicyRow[]> {
  return db.selectDistinctOn([policies.id]).from(policies).orderBy(policies.id, desc(policies.version));
}

/** Inserts the next version of a policy; the primary key makes a concurrent writer of the same version fail. */
export async function insertPolicyVersion(db: Db, row: NewPolicyVersion, channel: string): Promise<PolicyRow> {
  return db.transaction(async (tx) => {
    const [last] = await tx.select({ version: policies.version }).from(policies).where(eq(policies.id, row.id)).orderBy(desc(policies.version)).limit(1);
    const [inserted] = await tx.insert(policies).values({ ...row, version: (last?.version ?? 0) + 1 }).returning();
    await notify(tx, channel, row.id);
    return inserted!;
  });
}

export async function currentPolicy(db: Db, id: string): Promise<PolicyRow | undefined> {
  const [row] = await db.select().from(policies).where(eq(policies.id, id)).orderBy(desc(policies.version)).limit(1);
  return row;
}
