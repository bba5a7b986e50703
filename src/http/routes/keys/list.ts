// GET /v1/keys — list keys with filters and cursor pagination.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import { KmsError } from '../../../errors.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyView, Spec, State, Usage } from '../../schemas.ts';
import { providerKinds } from '../../../../providers/provider.ts';
import { keyView } from '../../views.ts';
import { keyAfter, keyCursor } from '../../cursor.ts';

const Query = z.object({
  state: State.optional(),
  spec: Spec.optional(),
  usage: Usage.optional(),
  provider: z.enum(providerKinds).optional(),
  connection: z.string().max(63).optional(),
  origin: z.string().max(32).optional().openapi({ description: 'GATEWAY (made through the gateway) or PROVIDER (found by discovery)' }),
  managed: z.enum(['true', 'false']).optional().openapi({ description: 'false: keys discovery found that nobody adopted' }),
  rotationDueBefore: z.string().datetime().optional().openapi({ description: 'Keys whose next scheduled rotation is at or before this time' }),
  alias: z.string().optional(),
  tag: z.union([z.string(), z.array(z.string())]).optional().openapi({ description: 'k:v; repeat for several (all must match)' }),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

const route = defineRoute({
  method: 'get', path: '/v1/keys', tags: ['keys'], operationId: 'listKeys', summary: 'List keys',
  request: { query: Query },
  responses: { 200: json(z.object({ keys: z.array(KeyView), nextCursor: z.string().nullable() }), 'A page of keys'), ...errorResponses },
}, 'gateway');

export function registerListKeys(app: App) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const tags: Record<string, string> = {};
    for (const t of [q.tag ?? []].flat()) {
      const at = t.indexOf(':');
      if (at < 1) throw new KmsError('INVALID_ARGUMENT', `tag filter "${t}" must be key:value`, { field: 'tag' });
      tags[t.slice(0, at)] = t.slice(at + 1);
    }
    const page = await c.get('services').keys.list({
      state: q.state, spec: q.spec, usage: q.usage, provider: q.provider, connection: q.connection, origin: q.origin,
      managed: q.managed === undefined ? undefined : q.managed === 'true', rotationDueBefore: q.rotationDueBefore ? new Date(q.rotationDueBefore) : undefined,
      alias: q.alias, tags, after: keyAfter(q.cursor),
    }, q.limit);
    return c.json({ keys: page.keys.map((g) => keyView(g)), nextCursor: keyCursor(page.next) }, 200);
  });
}
