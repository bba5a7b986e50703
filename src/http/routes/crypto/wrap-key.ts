// POST /v1/keys/{key}/wrap — wrap key material the caller brings under the current version.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import { wrapAlgorithms } from '../../../../providers/provider.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

export const WrapAlgorithm = z.enum(wrapAlgorithms).openapi({ description: 'Default: AES_KEY_WRAP_PAD under AES keys, RSAES_OAEP_SHA_256 under RSA keys' });

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/wrap', tags: ['crypto'], operationId: 'wrapKey', summary: 'Wrap key material',
  request: { params: KeyRefParam, body: jsonBody(z.object({ key: Bytes, algorithm: WrapAlgorithm.optional() }).strict()) },
  responses: { 200: json(z.object({ wrappedKey: Bytes, algorithm: WrapAlgorithm, keyId: z.string(), version: z.number().int() }), 'The wrapped key'), ...errorResponses },
});

export function registerWrapKey(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const out = await c.get('services').crypto.wrapKey(c.get('actor'), c.req.valid('param').key, fromB64(b.key), b.algorithm);
    return c.json({ wrappedKey: b64(out.wrappedKey), algorithm: out.algorithm, keyId: out.keyId, version: out.version }, 200);
  });
}
