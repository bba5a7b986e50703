// POST /v1/keys/{key}/unwrap — unwrap what /wrap made, with the version that wrapped it.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam, Version } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';
import { WrapAlgorithm } from './wrap-key.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/unwrap', tags: ['crypto'], operationId: 'unwrapKey', summary: 'Unwrap key material',
  request: { params: KeyRefParam, body: jsonBody(z.object({ wrappedKey: Bytes, algorithm: WrapAlgorithm.optional(), version: Version.optional() }).strict()) },
  responses: { 200: json(z.object({ key: Bytes, keyId: z.string(), version: z.number().int() }), 'The key material'), ...errorResponses },
});

export function registerUnwrapKey(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const out = await c.get('services').crypto.unwrapKey(c.get('actor'), c.req.valid('param').key, fromB64(b.wrappedKey), b.algorithm, b.version);
    return c.json({ key: b64(out.key), keyId: out.keyId, version: out.version }, 200);
  });
}
