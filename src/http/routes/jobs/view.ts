// The wire view of a background job, and its id path parameter.
import { z } from '@hono/zod-openapi';
import { jobStatuses, type JobRow } from '../../../db/schema/index.ts';
import { Timestamp } from '../../schemas.ts';
import { iso } from '../../views.ts';

export const JobView = z.object({
  id: z.string(),
  kind: z.string(),
  target: z.string(),
  status: z.enum(jobStatuses),
  progress: z.record(z.string(), z.number()).openapi({ description: 'Counters; discovery: pages, seen, discovered, managed, changed, drift, gone, unsupported' }),
  notes: z.array(z.string()).openapi({ description: 'What needs a person, e.g. keys discovery could not record' }),
  error: z.string().nullable().openapi({ description: 'The last failed attempt\'s error' }),
  attempts: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: Timestamp,
  finishedAt: Timestamp,
}).openapi('Job');

export const jobView = (j: JobRow): z.infer<typeof JobView> => ({
  id: j.id, kind: j.kind, target: j.target, status: j.status, progress: j.progress, notes: j.notes, error: j.error, attempts: j.attempts,
  createdBy: j.createdBy, createdAt: j.createdAt.toISOString(), startedAt: iso(j.startedAt), finishedAt: iso(j.finishedAt),
});

export const JobIdParam = z.object({
  id: z.string().regex(/^job_[0-9a-z]{26}$/, 'a job id (job_…)').openapi({ param: { name: 'id', in: 'path' }, example: 'job_01jd0000000000000000000000' }),
});
