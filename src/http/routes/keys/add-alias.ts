// POST /v1/keys/{key}/aliases — add an alias.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, jsonBody, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/aliases', tags: ['keys'], operationId: 'addAlias', summary: 'Add an alias',
  request: { params: KeyRefParam, body: jsonBody(z.object({ name: z.string() }).strict()) },
  responses: { 201: json(KeyView, 'The key with its new alias'), ...errorResponses },
});

export function registerAddAlias(app: App) {
  app.openapi(route, async (c) => {
    const graph = await c.get('services').keys.addAlias(c.get('actor'), c.req.valid('param').key, c.req.valid('json').name);
    return c.json(keyView(graph), 201);
  });
}
