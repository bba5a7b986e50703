// GET /v1/keys/{key} — one key.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'get', path: '/v1/keys/{key}', tags: ['keys'], operationId: 'getKey', summary: 'Get a key',
  request: { params: KeyRefParam },
  responses: { 200: json(KeyView, 'The key'), ...errorResponses },
});

export function registerGetKey(app: App) {
  app.openapi(route, async (c) => c.json(keyView(await c.get('services').keys.get(c.get('actor'), c.req.valid('param').key)), 200));
}
