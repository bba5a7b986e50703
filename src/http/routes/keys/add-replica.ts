// POST /v1/keys/{key}/replicas — give an existing key a replica on another connection.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, jsonBody, KeyRefParam, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/replicas', tags: ['keys'], operationId: 'addReplica', summary: 'Add a replica',
  description: 'Makes the key a replica binding on the connection, as creation makes one. An exportable key whose primary exports gets its own material on a connection that imports, '
    + 'every version copied (`sameMaterial`), so the replica serves all the key\'s data. Otherwise (ENCRYPT_DECRYPT keys only) the replica is an independent key holding the current version: '
    + 'envelopes sealed from now on carry its wrap, and older ones gain it when re-encrypted (`POST /v1/reencrypt`). An ACTIVE key only.',
  request: { params: KeyRefParam, body: jsonBody(z.object({ connection: z.string().min(1).max(128) }).strict()) },
  responses: { 201: json(KeyView, 'The key with its new replica'), ...errorResponses },
});

export function registerAddReplica(app: App) {
  app.openapi(route, async (c) => {
    const graph = await c.get('services').keys.addReplica(c.get('actor'), c.req.valid('param').key, c.req.valid('json').connection);
    return c.json(keyView(graph), 201);
  });
}
