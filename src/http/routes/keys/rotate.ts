// POST /v1/keys/{key}/rotate — add a version; the newest protects, all still process.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { idempotent } from '../../idempotency.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';
import { broughtMaterial, MaterialBody } from './material.ts';

const Body = z.object({
  material: MaterialBody.optional().openapi({ description: 'A key of origin IMPORTED rotates only with this: the new version is made of your material, imported by each backend as at creation' }),
}).strict().openapi('RotateKey');

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/rotate', tags: ['keys'], operationId: 'rotateKey', summary: 'Rotate a key',
  request: { params: KeyRefParam, headers: z.object({ 'idempotency-key': z.string().optional() }), body: { required: false, content: { 'application/json': { schema: Body } } } },
  responses: { 200: json(KeyView, 'The key at its new version'), ...errorResponses },
});

export function registerRotateKey(app: App) {
  app.openapi(route, async (c) => {
    const { key } = c.req.valid('param');
    const body = c.req.valid('json') ?? {};
    const { keys, crypto } = c.get('services');
    const actor = c.get('actor');
    return idempotent(c, {
      scope: `rotateKey ${key}`, status: 200, request: body,
      run: async (complete) => keyView(await keys.rotate(actor, key, { material: body.material && broughtMaterial(crypto, actor, body.material), inTransaction: complete })),
      replay: async (id) => keyView(await keys.get(c.get('actor'), id)),
    }) as never;
  });
}
