// GET /v1/keys/{key}/events — the key's lifecycle history.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam } from '../../schemas.ts';

const Event = z.object({
  id: z.string(), type: z.string(), fromState: z.string().nullable(), toState: z.string().nullable(), reason: z.string().nullable(),
  actor: z.string(), requestId: z.string().nullable(), detail: z.record(z.string(), z.unknown()), at: z.string().datetime(),
});

const route = defineRoute({
  method: 'get', path: '/v1/keys/{key}/events', tags: ['keys'], operationId: 'listKeyEvents', summary: 'Lifecycle history',
  request: { params: KeyRefParam, query: z.object({ after: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: { 200: json(z.object({ events: z.array(Event) }), 'Events, oldest first'), ...errorResponses },
});

export function registerListKeyEvents(app: App) {
  app.openapi(route, async (c) => {
    const { after, limit } = c.req.valid('query');
    const events = await c.get('services').keys.history(c.get('actor'), c.req.valid('param').key, after, limit);
    return c.json({ events: events.map((e) => ({ ...e, at: e.at.toISOString() })) }, 200);
  });
}
