// GET /v1/api-keys — every API key, revoked ones included, without secrets.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { listApiKeys } from '../../../db/queries/api-keys.ts';
import { errorResponses, json } from '../../schemas.ts';
import { ApiKeyView, apiKeyView } from './view.ts';

const route = defineRoute({
  method: 'get', path: '/v1/api-keys', tags: ['access'], operationId: 'listApiKeys', summary: 'List API keys',
  responses: { 200: json(z.object({ apiKeys: z.array(ApiKeyView) }), 'The keys'), ...errorResponses },
}, 'gateway');

export function registerListApiKeys(app: App) {
  app.openapi(route, async (c) => c.json({ apiKeys: (await listApiKeys(c.get('services').database.db)).map(apiKeyView) }, 200));
}
