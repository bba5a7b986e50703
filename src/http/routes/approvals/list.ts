// GET /v1/approvals — approval requests, newest first, by status.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { ApprovalView, approvalView } from './view.ts';

const Query = z.object({
  status: z.enum(['PENDING', 'APPROVED', 'DENIED', 'USED']).optional().openapi({ description: 'As stored: expired requests keep their last status' }),
  before: z.string().regex(/^apr_[0-9a-z]{26}$/).optional().openapi({ description: 'The last id of the previous page' }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const route = defineRoute({
  method: 'get', path: '/v1/approvals', tags: ['approvals'], operationId: 'listApprovals', summary: 'List approval requests',
  request: { query: Query },
  responses: { 200: json(z.object({ approvals: z.array(ApprovalView) }), 'Newest first'), ...errorResponses },
}, 'gateway');

export function registerListApprovals(app: App) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    return c.json({ approvals: (await c.get('services').approvals.list({ status: q.status, before: q.before }, q.limit)).map(approvalView) }, 200);
  });
}
