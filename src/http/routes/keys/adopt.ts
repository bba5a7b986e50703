// POST /v1/keys/{key}/adopt — bring a key discovery found under the gateway's management.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/adopt', tags: ['inventory'], operationId: 'adoptKey', summary: 'Adopt an observed key',
  description: 'An observed key (found by discovery, not made through the gateway) is listed but never used; adopted, it is used and governed like any other.',
  request: { params: KeyRefParam },
  responses: { 200: json(KeyView, 'The key, now managed'), ...errorResponses },
});

export function registerAdoptKey(app: App) {
  app.openapi(route, async (c) => c.json(keyView(await c.get('services').keys.adopt(c.get('actor'), c.req.valid('param').key)), 200));
}
