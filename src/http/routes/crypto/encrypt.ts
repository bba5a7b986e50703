// POST /v1/keys/{key}/encrypt — encrypt into a gateway envelope.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

export const CiphertextView = z.object({ ciphertext: Bytes, keyId: z.string(), version: z.number().int() }).openapi('Ciphertext');

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/encrypt', tags: ['crypto'], operationId: 'encrypt', summary: 'Encrypt',
  request: { params: KeyRefParam, body: jsonBody(z.object({ plaintext: Bytes, context: Context.optional() }).strict()) },
  responses: { 200: json(CiphertextView, 'The envelope'), ...errorResponses },
});

export function registerEncrypt(app: App) {
  app.openapi(route, async (c) => {
    const { plaintext, context } = c.req.valid('json');
    const out = await c.get('services').crypto.encrypt(c.get('actor'), c.req.valid('param').key, fromB64(plaintext), context);
    return c.json({ ciphertext: b64(out.ciphertext), keyId: out.keyId, version: out.version }, 200);
  });
}
