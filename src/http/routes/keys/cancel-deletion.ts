// POST /v1/keys/{key}/cancel-deletion — stop a pending deletion.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/cancel-deletion', tags: ['lifecycle'], operationId: 'cancelKeyDeletion', summary: 'Cancel a pending deletion',
  description: 'The key returns to its state before scheduling, except that an ACTIVE key comes back SUSPENDED.',
  request: { params: KeyRefParam },
  responses: { 200: json(KeyView, 'The key, no longer pending deletion'), ...errorResponses },
});

export function registerCancelDeletion(app: App) {
  app.openapi(route, async (c) => c.json(keyView(await c.get('services').keys.cancelDeletion(c.get('actor'), c.req.valid('param').key)), 200));
}
