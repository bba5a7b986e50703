// PATCH /v1/keys/{key} — change description and tags (JSON merge patch: null removes a tag).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { MERGE_PATCH } from '../../middleware/body-guard.ts';
import { errorResponses, json, KeyRefParam, KeyView, ownKeys, TagKey } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const Body = z.object({
  description: z.string().max(8192).optional(),
  tags: ownKeys(z.record(TagKey, z.string().max(256).nullable())).optional(),
}).strict().refine((b) => b.description !== undefined || b.tags !== undefined, 'nothing to update: send description or tags');

const route = defineRoute({
  method: 'patch', path: '/v1/keys/{key}', tags: ['keys'], operationId: 'updateKey', summary: 'Update description and tags',
  request: { params: KeyRefParam, body: { required: true, content: { [MERGE_PATCH]: { schema: Body }, 'application/json': { schema: Body } } } },
  responses: { 200: json(KeyView, 'The updated key'), ...errorResponses },
});

export function registerUpdateKey(app: App) {
  app.openapi(route, async (c) => {
    const graph = await c.get('services').keys.update(c.get('actor'), c.req.valid('param').key, c.req.valid('json'));
    return c.json(keyView(graph), 200);
  });
}
