// The wire view of an approval request, its votes, and its id path parameter.
import { z } from '@hono/zod-openapi';
import type { ApprovalGraph } from '../../../db/queries/approvals.ts';
import { approvalState } from '../../../policy/approvals.ts';
import { Timestamp } from '../../schemas.ts';
import { iso } from '../../views.ts';

const Vote = z.object({ principal: z.string(), comment: z.string(), at: z.string() });

export const ApprovalView = z.object({
  id: z.string(),
  operation: z.string().openapi({ description: 'The operation (its operationId) the approval is for' }),
  target: z.string().openapi({ description: 'The key id, or the gateway operation\'s path id (\'\' when it has none)' }),
  requester: z.string(),
  reason: z.string(),
  required: z.number().int().openapi({ description: 'Approvals the policies asked for when the request was made' }),
  status: z.enum(['PENDING', 'APPROVED', 'DENIED', 'USED', 'EXPIRED']),
  approvals: z.array(Vote),
  denials: z.array(Vote),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: Timestamp,
}).openapi('ApprovalRequest');

export const approvalView = ({ request: r, votes }: ApprovalGraph): z.infer<typeof ApprovalView> => {
  const vote = (v: ApprovalGraph['votes'][number]) => ({ principal: v.principal, comment: v.comment, at: v.at.toISOString() });
  return {
    id: r.id, operation: r.operation, target: r.target, requester: r.requester, reason: r.reason, required: r.required, status: approvalState(r),
    approvals: votes.filter((v) => v.decision === 'approve').map(vote), denials: votes.filter((v) => v.decision === 'deny').map(vote),
    createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString(), usedAt: iso(r.usedAt),
  };
};

export const ApprovalIdParam = z.object({
  id: z.string().regex(/^apr_[0-9a-z]{26}$/, 'an approval request id (apr_…)').openapi({ param: { name: 'id', in: 'path' }, example: 'apr_01jd0000000000000000000000' }),
});
