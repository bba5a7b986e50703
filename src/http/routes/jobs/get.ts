// GET /v1/jobs/{id} · GET /v1/jobs — background jobs and their progress.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { needs } from '../../../errors.ts';
import { getJob, listJobs } from '../../../db/queries/jobs.ts';
import { errorResponses, json } from '../../schemas.ts';
import { jobStatuses } from '../../../db/schema/index.ts';
import { DISCOVERY } from '../../../inventory/discovery.ts';
import { SYNC } from '../../../replicas/sync.ts';
import { COMPLIANCE_SCAN } from '../../../governance/scan.ts';
import { JobIdParam, JobView, jobView } from './view.ts';

const getRoute = defineRoute({
  method: 'get', path: '/v1/jobs/{id}', tags: ['inventory'], operationId: 'getJob', summary: 'A background job and its progress',
  request: { params: JobIdParam },
  responses: { 200: json(JobView, 'The job'), ...errorResponses },
}, 'gateway');

const listRoute = defineRoute({
  method: 'get', path: '/v1/jobs', tags: ['inventory'], operationId: 'listJobs', summary: 'Background jobs, newest first',
  request: { query: z.object({ kind: z.enum([DISCOVERY, SYNC, COMPLIANCE_SCAN]).optional(), target: z.string().max(256).optional(), status: z.enum(jobStatuses).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }) },
  responses: { 200: json(z.object({ jobs: z.array(JobView) }), 'Newest first'), ...errorResponses },
}, 'gateway');

export function registerJobs(app: App) {
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const job = await getJob(c.get('services').database.db, id);
    needs(job, 'NOT_FOUND', `job "${id}" not found`);
    return c.json(jobView(job), 200);
  });
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json({ jobs: (await listJobs(c.get('services').database.db, q, q.limit)).map(jobView) }, 200);
  });
}
