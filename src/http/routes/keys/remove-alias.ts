// DELETE /v1/keys/{key}/aliases/{name} — remove an alias.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, KeyRefParam } from '../../schemas.ts';

const route = defineRoute({
  method: 'delete', path: '/v1/keys/{key}/aliases/{name}', tags: ['keys'], operationId: 'removeAlias', summary: 'Remove an alias',
  request: { params: KeyRefParam.extend({ name: z.string().openapi({ param: { name: 'name', in: 'path' } }) }) },
  responses: { 204: { description: 'Removed' }, ...errorResponses },
});

export function registerRemoveAlias(app: App) {
  app.openapi(route, async (c) => {
    const { key, name } = c.req.valid('param');
    await c.get('services').keys.removeAlias(c.get('actor'), key, name);
    return c.body(null, 204);
  });
}
