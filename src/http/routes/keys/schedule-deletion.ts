// POST /v1/keys/{key}/schedule-deletion — start the waiting period (7-30 days, default 30).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { deletionWindow } from '../../../keys/lifecycle.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const Body = z.object({ pendingDays: z.number().int().optional().openapi({ description: `${deletionWindow.minDays}-${deletionWindow.maxDays}, default ${deletionWindow.defaultDays}` }) }).strict();

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/schedule-deletion', tags: ['lifecycle'], operationId: 'scheduleKeyDeletion', summary: 'Schedule deletion',
  request: { params: KeyRefParam, body: { required: false, content: { 'application/json': { schema: Body } } } },
  responses: { 200: json(KeyView, 'The key, pending deletion'), ...errorResponses },
});

export function registerScheduleDeletion(app: App) {
  app.openapi(route, async (c) => {
    const graph = await c.get('services').keys.scheduleDeletion(c.get('actor'), c.req.valid('param').key, c.req.valid('json')?.pendingDays);
    return c.json(keyView(graph), 200);
  });
}
