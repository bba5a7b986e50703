// DELETE /v1/api-keys/{id} — revoke an API key at once, on every instance; the record stays.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { needs } from '../../../errors.ts';
import { errorResponses, json } from '../../schemas.ts';
import { ApiKeyView, apiKeyView } from './view.ts';

const Params = z.object({ id: z.string().regex(/^ak_[0-9a-z]{26}$/, 'an API key id (ak_…)').openapi({ param: { name: 'id', in: 'path' } }) });

const route = defineRoute({
  method: 'delete', path: '/v1/api-keys/{id}', tags: ['access'], operationId: 'revokeApiKey', summary: 'Revoke an API key',
  request: { params: Params },
  responses: { 200: json(ApiKeyView, 'The revoked key'), ...errorResponses },
}, 'gateway');

export function registerRevokeApiKey(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const row = await c.get('services').auth.apiKeys.revoke(id);
    needs(row, 'NOT_FOUND', `API key "${id}" not found`);
    c.get('actor').record.detail = { apiKey: id };
    return c.json(apiKeyView(row), 200);
  });
}
