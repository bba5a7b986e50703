// GET /v1/drift — what discovery found changed outside the gateway: on managed keys, drift from what
// the gateway expects (a key disabled or scheduled for deletion in a console, rotation switched,
// tags changed, a key gone) and when it was put right; on observed keys, each change. Newest first.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { DRIFT_TYPES } from '../../../inventory/inventory.ts';

const Drift = z.object({
  id: z.string(),
  keyId: z.string(),
  type: z.enum(DRIFT_TYPES).openapi({ description: 'DRIFT and DRIFT_RESOLVED on managed keys; OBSERVED_CHANGE on keys the gateway does not manage' }),
  detail: z.record(z.string(), z.unknown()).openapi({ description: 'connection, ref, field (state, rotation, tags, version, access or presence), before (what the gateway expects), after (what the backend has)' }),
  at: z.string(),
}).openapi('Drift');

const route = defineRoute({
  method: 'get', path: '/v1/drift', tags: ['inventory'], operationId: 'listDrift', summary: 'Drift found by discovery',
  request: { query: z.object({ keyId: z.string().regex(/^key_[0-9a-z]{26}$/).optional(), before: z.string().regex(/^evt_[0-9a-z]{26}$/).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: { 200: json(z.object({ drift: z.array(Drift) }), 'Newest first'), ...errorResponses },
}, 'gateway');

export function registerDrift(app: App) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const rows = await c.get('services').inventory.drift(q.keyId, q.before, q.limit);
    return c.json({ drift: rows.map((e) => ({ id: e.id, keyId: e.keyId, type: e.type as typeof DRIFT_TYPES[number], detail: e.detail, at: e.at.toISOString() })) }, 200);
  });
}
