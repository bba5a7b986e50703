// POST /v1/decrypt — open an envelope (it names its key and version), or a native ciphertext (the caller names them).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, jsonBody, Version } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';
import { CiphertextFormat } from './encrypt.ts';

const nativeOnly = ['key', 'version', 'connection'] as const;

const Body = z.object({
  ciphertext: Bytes,
  context: Context.optional(),
  format: CiphertextFormat.optional(),
  key: z.string().min(1).max(140).optional().openapi({ description: 'Native ciphertext: the key (id or alias/NAME)' }),
  version: Version.optional().openapi({ description: 'Native ciphertext: the key version that made it' }),
  connection: z.string().min(1).max(64).optional().openapi({ description: 'Native ciphertext: the connection that made it (default: the key\'s primary)' }),
}).strict().superRefine((b, ctx) => {
  if (b.format === 'native') {
    for (const f of ['key', 'version'] as const) if (b[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: `native ciphertext names no key: send ${f}` });
  } else {
    for (const f of nativeOnly) if (b[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: `${f} goes with format "native" only: an envelope names its key and version` });
  }
});

const route = defineRoute({
  method: 'post', path: '/v1/decrypt', tags: ['crypto'], operationId: 'decrypt', summary: 'Decrypt',
  request: { body: jsonBody(Body) },
  responses: { 200: json(z.object({ plaintext: Bytes, keyId: z.string(), version: z.number().int() }), 'The plaintext'), ...errorResponses },
});

export function registerDecrypt(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const { crypto } = c.get('services');
    const out = b.format === 'native'
      ? await crypto.decryptNative(c.get('actor'), b.key!, fromB64(b.ciphertext), b.version!, b.context, b.connection)
      : await crypto.decrypt(c.get('actor'), fromB64(b.ciphertext), b.context);
    return c.json({ plaintext: b64(out.plaintext), keyId: out.keyId, version: out.version }, 200);
  });
}
