// Queries on approval requests. A vote and the status it brings are written under a lock on the
// request row, so concurrent approvers count exactly; a claim is one guarded update, so exactly
// one request uses an approval; a release undoes a claim whose request failed.
import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { approvalRequests, approvalVotes, type ApprovalStatus } from '../schema/index.ts';

export type ApprovalRow = typeof approvalRequests.$inferSelect;
export type VoteRow = typeof approvalVotes.$inferSelect;
export interface ApprovalGraph { request: ApprovalRow; votes: VoteRow[] }

export async function insertApprovalRequest(db: Db, row: typeof approvalRequests.$inferInsert): Promise<void> {
  await db.insert(approvalRequests).values(row);
}

export async function loadApproval(db: Db, id: string, lock = false): Promise<ApprovalGraph | undefined> {
  const query = db.select().from(approvalRequests).where(eq(approvalRequests.id, id));
  const [request] = lock ? await query.for('update') : await query;
  if (!request) return undefined;
  return { request, votes: await db.select().from(approvalVotes).where(eq(approvalVotes.requestId, id)).orderBy(asc(approvalVotes.at)) };
}

export async function listApprovals(db: Db, filter: { status?: ApprovalStatus; before?: string }, limit: number): Promise<ApprovalGraph[]> {
  const rows = await db.select().from(approvalRequests)
    .where(and(filter.status ? eq(approvalRequests.status, filter.status) : undefined, filter.before ? lt(approvalRequests.id, filter.before) : undefined))
    .orderBy(desc(approvalRequests.id)).limit(limit);
  if (rows.length === 0) return [];
  const votes = await db.select().from(approvalVotes).where(inArray(approvalVotes.requestId, rows.map((r) => r.id))).orderBy(asc(approvalVotes.at));
  return rows.map((request) => ({ request, votes: votes.filter((v) => v.requestId === request.id) }));
}

export async function insertVote(db: Db, vote: typeof approvalVotes.$inferInsert): Promise<void> {
  await db.insert(approvalVotes).values(vote);
}

export async function setApprovalStatus(db: Db, id: string, status: ApprovalStatus): Promise<void> {
  await db.update(approvalRequests).set({ status }).where(eq(approvalRequests.id, id));
}

/** Marks an approved, unexpired request of this requester for this operation used; its approval count when it was. */
export async function claimApproval(db: Db, claim: { id: string; requester: string; operation: string; now: Date }): Promise<{ target: string; count: number } | undefined> {
  const [row] = await db.update(approvalRequests).set({ status: 'USED', usedAt: claim.now })
    .where(and(
      eq(approvalRequests.id, claim.id), eq(approvalRequests.status, 'APPROVED'), eq(approvalRequests.requester, claim.requester),
      eq(approvalRequests.operation, claim.operation), gt(approvalRequests.expiresAt, claim.now),
    ))
    .returning({ target: approvalRequests.target });
  if (!row) return undefined;
  const [votes] = await db.select({ n: sql<number>`count(*)::int` }).from(approvalVotes)
    .where(and(eq(approvalVotes.requestId, claim.id), eq(approvalVotes.decision, 'approve')));
  return { target: row.target, count: votes!.n };
}

export async function releaseApproval(db: Db, id: string): Promise<void> {
  await db.update(approvalRequests).set({ status: 'APPROVED', usedAt: null }).where(and(eq(approvalRequests.id, id), eq(approvalRequests.status, 'USED')));
}
