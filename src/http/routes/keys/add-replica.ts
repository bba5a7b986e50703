// POST /v1/keys/{key}/replicas — give an existing key a replica on another connection. 202 with
// the key's sync job, which makes it.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { JobView, jobView } from '../jobs/view.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/replicas', tags: ['keys'], operationId: 'addReplica', summary: 'Add a replica',
  description: 'Records a replica binding on the connection (`syncStatus: pending`) and queues the key\'s sync job, which makes it: the answer is that job, to follow at `/v1/jobs/{id}`. '
    + 'An exportable key whose primary exports gets its own material on a connection that imports, every version copied one by one (`sameMaterial`), so the replica serves all the key\'s data. '
    + 'Otherwise (ENCRYPT_DECRYPT keys only) the replica is an independent key holding the current version: envelopes sealed once it is made carry its wrap (those sealed while it was pending gain it from the job), '
    + 'and older ones gain it when re-encrypted (`POST /v1/reencrypt`). An ACTIVE key only; the checks (the connection can hold the key, placement rules) answer here, before anything is recorded.',
  request: { params: KeyRefParam, body: jsonBody(z.object({ connection: z.string().min(1).max(128) }).strict()) },
  responses: { 202: json(JobView, 'The key\'s sync job, which makes the replica'), ...errorResponses },
});

export function registerAddReplica(app: App) {
  app.openapi(route, async (c) => {
    const job = await c.get('services').keys.addReplica(c.get('actor'), c.req.valid('param').key, c.req.valid('json').connection);
    return c.json(jobView(job), 202);
  });
}
