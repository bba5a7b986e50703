// POST /v1/compliance/scan — start (or join) a compliance scan of every key against the rules in
// force. 202 with the job; its figures reach /v1/inventory/summary and /metrics when it finishes.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { JobView, jobView } from '../jobs/view.ts';

const route = defineRoute({
  method: 'post', path: '/v1/compliance/scan', tags: ['governance'], operationId: 'scanCompliance', summary: 'Scan every key against the rules in force',
  description: 'Queues a compliance scan job, or answers the one already queued or running. The gateway also runs one on its own (inventory.complianceScanEverySeconds).',
  responses: { 202: json(JobView, 'The scan job'), ...errorResponses },
}, 'gateway');

export function registerComplianceScan(app: App) {
  app.openapi(route, async (c) => {
    const actor = c.get('actor');
    const job = await c.get('services').inventory.scanCompliance(actor.identity.principal);
    actor.record.detail = { job: job.id };
    return c.json(jobView(job), 202);
  });
}
