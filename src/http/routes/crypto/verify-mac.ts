// POST /v1/keys/{key}/verify-mac — check a MAC made by a version (default: the current one).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam, Version } from '../../schemas.ts';
import { fromB64 } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/verify-mac', tags: ['crypto'], operationId: 'verifyMac', summary: 'Verify a MAC',
  request: { params: KeyRefParam, body: jsonBody(z.object({ message: Bytes, mac: Bytes, version: Version.optional() }).strict()) },
  responses: { 200: json(z.object({ valid: z.boolean(), keyId: z.string(), version: z.number().int() }), 'Whether the MAC is valid'), ...errorResponses },
});

export function registerVerifyMac(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    return c.json(await c.get('services').crypto.verifyMac(c.get('actor'), c.req.valid('param').key, fromB64(b.message), fromB64(b.mac), b.version), 200);
  });
}
