// GET /v1/keys/{key}/public-key — the public key of an asymmetric key, as PEM or JWK.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam } from '../../schemas.ts';

const route = defineRoute({
  method: 'get', path: '/v1/keys/{key}/public-key', tags: ['crypto'], operationId: 'getPublicKey', summary: 'Get the public key',
  request: { params: KeyRefParam, query: z.object({ format: z.enum(['pem', 'jwk']).default('pem'), version: z.coerce.number().int().min(1).optional() }) },
  responses: { 200: json(z.object({ keyId: z.string(), version: z.number().int(), publicKey: z.union([z.string(), z.record(z.string(), z.unknown())]) }), 'The public key'), ...errorResponses },
});

export function registerPublicKey(app: App) {
  app.openapi(route, async (c) => {
    const { format, version } = c.req.valid('query');
    return c.json(await c.get('services').crypto.publicKey(c.get('actor'), c.req.valid('param').key, format, version), 200);
  });
}
