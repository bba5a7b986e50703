// POST /v1/decrypt — open an envelope; the envelope names its key and version.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, jsonBody } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

const route = defineRoute({
  method: 'post', path: '/v1/decrypt', tags: ['crypto'], operationId: 'decrypt', summary: 'Decrypt',
  request: { body: jsonBody(z.object({ ciphertext: Bytes, context: Context.optional() }).strict()) },
  responses: { 200: json(z.object({ plaintext: Bytes, keyId: z.string(), version: z.number().int() }), 'The plaintext'), ...errorResponses },
});

export function registerDecrypt(app: App) {
  app.openapi(route, async (c) => {
    const { ciphertext, context } = c.req.valid('json');
    const out = await c.get('services').crypto.decrypt(c.get('actor'), fromB64(ciphertext), context);
    return c.json({ plaintext: b64(out.plaintext), keyId: out.keyId, version: out.version }, 200);
  });
}
