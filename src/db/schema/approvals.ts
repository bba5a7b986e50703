// Approval requests for sensitive operations (M-of-N, by distinct principals other than the
// requester) and the votes on them. A request names the operation and its target (a key, or the
// id in the path of a gateway operation); once approved it is claimed by exactly one request of
// the requester's for that operation and target before it expires. Votes are one per principal:
// the primary key makes approvals distinct.
import { index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'DENIED' | 'USED';

export const approvalRequests = pgTable('approval_requests', {
  id: text('id').primaryKey(),
  operation: text('operation').notNull(),
  /** The key id for operations on a key; the path's id (or '') for operations on the gateway. */
  target: text('target').notNull(),
  requester: text('requester').notNull(),
  reason: text('reason').notNull(),
  required: integer('required').notNull(),
  status: text('status').$type<ApprovalStatus>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
}, (t) => [index('approval_requests_status_idx').on(t.status, t.createdAt)]);

export const approvalVotes = pgTable('approval_votes', {
  requestId: text('request_id').notNull().references(() => approvalRequests.id),
  principal: text('principal').notNull(),
  decision: text('decision').$type<'approve' | 'deny'>().notNull(),
  comment: text('comment').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ name: 'approval_votes_pkey', columns: [t.requestId, t.principal] })]);
