// POST /v1/keys/{key}/export — an exportable key's material wrapped for an importer's RSA public
// key (a cloud's import wrapping key), in one of the clouds' import schemes. Never in the clear.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import { exportSchemes } from '../../../../providers/provider.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam, Version } from '../../schemas.ts';
import { b64 } from '../../views.ts';

const Scheme = z.enum(exportSchemes);

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/export', tags: ['keys'], operationId: 'exportKey', summary: 'Export a key wrapped for import elsewhere',
  request: {
    params: KeyRefParam,
    body: jsonBody(z.object({
      scheme: Scheme,
      wrappingKey: z.string().min(1).max(16_384).openapi({ description: 'The importer\'s RSA public key: PEM, or standard base64 of the DER SubjectPublicKeyInfo' }),
      version: Version.optional(),
    }).strict()),
  },
  responses: {
    200: json(z.object({
      wrappedKey: Bytes, scheme: Scheme, format: z.enum(['RAW', 'PKCS8']).openapi({ description: 'What was wrapped: raw key bytes (AES, HMAC) or a PKCS#8 private key' }),
      keyId: z.string(), version: z.number().int(),
    }), 'The wrapped key material'),
    ...errorResponses,
  },
});

export function registerExportKey(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const out = await c.get('services').crypto.exportKey(c.get('actor'), c.req.valid('param').key, b.scheme, b.wrappingKey, b.version);
    return c.json({ ...out, wrappedKey: b64(out.wrappedKey) }, 200);
  });
}
