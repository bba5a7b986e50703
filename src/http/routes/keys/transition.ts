// POST /v1/keys/{key}/{activate|suspend|reactivate|deactivate|compromise} — lifecycle transitions
// that need nothing but an optional comment; one route definition each, from the lifecycle table.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { transitions } from '../../../keys/lifecycle.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const actions = ['activate', 'suspend', 'reactivate', 'deactivate', 'compromise'] as const;
const Body = z.object({ comment: z.string().max(1024).optional() }).strict();

export function registerTransitions(app: App) {
  for (const action of actions) {
    const t = transitions[action];
    const route = defineRoute({
      method: 'post', path: `/v1/keys/{key}/${action}`, tags: ['lifecycle'], operationId: `${action}Key`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a key`,
      description: `Moves a key from ${t.from.join(' or ')} to ${t.to} (reason ${t.reason}).`,
      request: { params: KeyRefParam, body: { required: false, content: { 'application/json': { schema: Body } } } },
      responses: { 200: json(KeyView, 'The key in its new state'), ...errorResponses },
    });
    app.openapi(route, async (c) => {
      const graph = await c.get('services').keys.transition(c.get('actor'), c.req.valid('param').key, action, c.req.valid('json')?.comment);
      return c.json(keyView(graph), 200);
    });
  }
}
