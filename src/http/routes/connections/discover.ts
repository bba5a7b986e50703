// POST /v1/connections/{name}/discover — start (or join) a discovery of every key the connection's
// credentials can see. 202 with the job; follow it at /v1/jobs/{id}.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { JobView, jobView } from '../jobs/view.ts';

const route = defineRoute({
  method: 'post', path: '/v1/connections/{name}/discover', tags: ['inventory'], operationId: 'discoverKeys', summary: 'Discover every key of a connection',
  description: 'Queues a discovery job, or answers the one already queued or running for the connection.',
  request: { params: z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).openapi({ param: { name: 'name', in: 'path' } }) }) },
  responses: { 202: json(JobView, 'The discovery job'), ...errorResponses },
}, 'gateway');

export function registerDiscover(app: App) {
  app.openapi(route, async (c) => {
    const actor = c.get('actor');
    const job = await c.get('services').inventory.discover(c.req.valid('param').name, actor.identity.principal);
    actor.record.detail = { job: job.id, connection: job.target };
    return c.json(jobView(job), 202);
  });
}
