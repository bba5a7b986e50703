// POST /v1/keys/{key}/mac — HMAC of a message with the current version.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/mac', tags: ['crypto'], operationId: 'generateMac', summary: 'Compute a MAC',
  request: { params: KeyRefParam, body: jsonBody(z.object({ message: Bytes }).strict()) },
  responses: { 200: json(z.object({ mac: Bytes, keyId: z.string(), version: z.number().int() }), 'The MAC'), ...errorResponses },
});

export function registerMac(app: App) {
  app.openapi(route, async (c) => {
    const out = await c.get('services').crypto.mac(c.get('actor'), c.req.valid('param').key, fromB64(c.req.valid('json').message));
    return c.json({ mac: b64(out.mac), keyId: out.keyId, version: out.version }, 200);
  });
}
