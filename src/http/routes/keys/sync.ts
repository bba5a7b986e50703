// POST /v1/keys/{key}/sync — bring the key's replicas and backend keys up to date and repair the
// envelopes sealed while one of them could not wrap. 202 with the job.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam } from '../../schemas.ts';
import { JobView, jobView } from '../jobs/view.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/sync', tags: ['keys'], operationId: 'syncKey', summary: 'Sync a key\'s replicas and repair its envelopes',
  description: 'Queues the key\'s sync job, or answers the one already queued or running: replicas that missed a rotation get the current version, backend keys get the key\'s deletion state and tags, and envelopes made while a binding was unavailable get its wrap (kept by the gateway; decrypt uses it when the envelope\'s own wraps fail). Rotations, deletion and tag changes queue it, and the gateway runs it on its own (replicas.syncEverySeconds).',
  request: { params: KeyRefParam },
  responses: { 202: json(JobView, 'The sync job'), ...errorResponses },
});

export function registerSyncKey(app: App) {
  app.openapi(route, async (c) => {
    const actor = c.get('actor');
    const job = await c.get('services').keys.sync(actor, c.req.valid('param').key);
    actor.record.detail = { job: job.id };
    return c.json(jobView(job), 202);
  });
}
