// GET /v1/approvals/{id} — one approval request and its votes.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { ApprovalIdParam, ApprovalView, approvalView } from './view.ts';

const route = defineRoute({
  method: 'get', path: '/v1/approvals/{id}', tags: ['approvals'], operationId: 'getApproval', summary: 'Read an approval request',
  request: { params: ApprovalIdParam },
  responses: { 200: json(ApprovalView, 'The request'), ...errorResponses },
}, 'gateway');

export function registerGetApproval(app: App) {
  app.openapi(route, async (c) => c.json(approvalView(await c.get('services').approvals.get(c.req.valid('param').id)), 200));
}
