// GET /v1/inventory/summary — the dashboard's figures: keys by provider and state, rotations due,
// open drift, operations per provider by the hour, and the latest compliance scan's findings by rule.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';

const Summary = z.object({
  keys: z.array(z.object({ provider: z.string(), state: z.string(), managed: z.boolean(), keys: z.number().int() })),
  rotation: z.object({ overdue: z.number().int(), next30Days: z.number().int() }),
  drift: z.number().int().openapi({ description: 'Keys with drift not yet resolved' }),
  operations: z.array(z.object({ hour: z.string().datetime(), provider: z.string(), count: z.number().int() })),
  findings: z.object({
    jobId: z.string(),
    finishedAt: z.string().datetime(),
    scanned: z.number().int().openapi({ description: 'Keys the scan checked (destroyed keys are skipped)' }),
    keys: z.number().int().openapi({ description: 'Keys with at least one finding' }),
    byRule: z.array(z.object({ rule: z.string(), keys: z.number().int().openapi({ description: 'Keys breaking the rule' }) })),
  }).nullable().openapi({ description: 'The latest finished compliance scan of every key; null before the first' }),
}).openapi('InventorySummary');

const route = defineRoute({
  method: 'get', path: '/v1/inventory/summary', tags: ['inventory'], operationId: 'getInventorySummary', summary: 'Inventory figures for the dashboard',
  request: { query: z.object({ hours: z.coerce.number().int().min(1).max(24 * 31).default(24).openapi({ description: 'Hours of operations to report' }) }) },
  responses: { 200: json(Summary, 'The figures'), ...errorResponses },
}, 'gateway');

export function registerInventorySummary(app: App) {
  app.openapi(route, async (c) => c.json(await c.get('services').inventory.summary(new Date(), c.req.valid('query').hours), 200));
}
