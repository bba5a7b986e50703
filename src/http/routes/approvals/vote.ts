// POST /v1/approvals/{id}/approve · /deny — a vote by a principal other than the requester,
// decided (approveRequest, denyRequest) on the key the request is about, or on the gateway.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { KEY_ACTIONS } from '../../../policy/engine.ts';
import { errorResponses, json } from '../../schemas.ts';
import { ApprovalIdParam, ApprovalView, approvalView } from './view.ts';

const Body = z.object({ comment: z.string().max(1024).optional() }).strict();

export function registerVotes(app: App) {
  for (const [decision, operationId] of [['approve', 'approveRequest'], ['deny', 'denyRequest']] as const) {
    const route = defineRoute({
      method: 'post', path: `/v1/approvals/{id}/${decision}`, tags: ['approvals'], operationId,
      summary: decision === 'approve' ? 'Approve a request (never one\'s own)' : 'Deny a request: it ends',
      request: { params: ApprovalIdParam, body: { required: false, content: { 'application/json': { schema: Body } } } },
      responses: { 200: json(ApprovalView, 'The request after the vote'), ...errorResponses },
    });
    app.openapi(route, async (c) => {
      const { approvals, keys, access } = c.get('services');
      const actor = c.get('actor');
      const graph = await approvals.vote(actor, c.req.valid('param').id, decision, c.req.valid('json')?.comment ?? '', async ({ request }) => {
        if (KEY_ACTIONS.includes(request.operation)) access.checkKey(actor, await keys.find(request.target));
        else access.checkGateway(actor);
      });
      return c.json(approvalView(graph), 200);
    });
  }
}
