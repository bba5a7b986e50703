// GET /v1/keys/{key}/usage — how often each operation used the key and when last.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam } from '../../schemas.ts';

const Usage = z.object({
  keyId: z.string(),
  lastUsedAt: z.string().datetime().nullable(),
  operations: z.array(z.object({ operation: z.string(), count: z.number().int(), lastUsedAt: z.string().datetime() })),
}).openapi('KeyUsage');

const route = defineRoute({
  method: 'get', path: '/v1/keys/{key}/usage', tags: ['keys'], operationId: 'getKeyUsage', summary: 'Usage statistics of a key',
  description: 'Counted in memory and written every few seconds: the figures may trail by that much.',
  request: { params: KeyRefParam },
  responses: { 200: json(Usage, 'Per operation'), ...errorResponses },
});

export function registerKeyUsage(app: App) {
  app.openapi(route, async (c) => {
    const { key, operations } = await c.get('services').keys.usage(c.get('actor'), c.req.valid('param').key);
    return c.json({
      keyId: key.id,
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      operations: operations.map((o) => ({ operation: o.operation, count: o.count, lastUsedAt: o.lastUsedAt.toISOString() })),
    }, 200);
  });
}
