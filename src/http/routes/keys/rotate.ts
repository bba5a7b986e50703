// POST /v1/keys/{key}/rotate — add a version; the newest protects, all still process.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { idempotent } from '../../idempotency.ts';
import { errorResponses, json, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/rotate', tags: ['keys'], operationId: 'rotateKey', summary: 'Rotate a key',
  request: { params: KeyRefParam, headers: z.object({ 'idempotency-key': z.string().optional() }) },
  responses: { 200: json(KeyView, 'The key at its new version'), ...errorResponses },
});

export function registerRotateKey(app: App) {
  app.openapi(route, async (c) => {
    const { key } = c.req.valid('param');
    const { keys } = c.get('services');
    return idempotent(c, {
      scope: `rotateKey ${key}`, status: 200, request: {},
      run: async (complete) => keyView(await keys.rotate(c.get('actor'), key, { inTransaction: complete })),
      replay: async (id) => keyView(await keys.get(c.get('actor'), id)),
    }) as never;
  });
}
