// POST /v1/keys/{key}/encrypt — encrypt into a gateway envelope, or into the backend's own ciphertext.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

export const CiphertextView = z.object({ ciphertext: Bytes, keyId: z.string(), version: z.number().int() }).openapi('Ciphertext');

export const CiphertextFormat = z.enum(['envelope', 'native']).openapi({
  description: '`envelope` (default): the gateway envelope, any size, opened by any binding of the key. `native`: the primary backend\'s own '
    + 'ciphertext (an AWS CiphertextBlob, Cloud KMS ciphertext, RSA-OAEP-256 under Key Vault), opened there alone, also with the cloud\'s own API; '
    + 'the context is AWS\'s EncryptionContext, elsewhere the AAD (its digest, docs/envelope.md)',
});

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/encrypt', tags: ['crypto'], operationId: 'encrypt', summary: 'Encrypt',
  request: { params: KeyRefParam, body: jsonBody(z.object({ plaintext: Bytes, context: Context.optional(), format: CiphertextFormat.optional() }).strict()) },
  responses: {
    200: json(CiphertextView.extend({
      format: z.literal('native').optional(),
      connection: z.string().optional().openapi({ description: 'Native ciphertext: the connection that made it, to name when decrypting' }),
    }), 'The envelope, or the native ciphertext'),
    ...errorResponses,
  },
});

export function registerEncrypt(app: App) {
  app.openapi(route, async (c) => {
    const { plaintext, context, format } = c.req.valid('json');
    const { crypto } = c.get('services');
    const actor = c.get('actor');
    const key = c.req.valid('param').key;
    if (format === 'native') {
      const out = await crypto.encryptNative(actor, key, fromB64(plaintext), context);
      return c.json({ ciphertext: b64(out.ciphertext), keyId: out.keyId, version: out.version, format: 'native' as const, connection: out.connection }, 200);
    }
    const out = await crypto.encrypt(actor, key, fromB64(plaintext), context);
    return c.json({ ciphertext: b64(out.ciphertext), keyId: out.keyId, version: out.version }, 200);
  });
}
