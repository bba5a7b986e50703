// POST /v1/reencrypt — decrypt and encrypt again under the newest version (or another key).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, jsonBody } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

const Body = z.object({
  ciphertext: Bytes,
  context: Context.optional(),
  destinationKey: z.string().optional().openapi({ description: 'Key id or alias/NAME; default: the same key' }),
  destinationContext: Context.optional(),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/reencrypt', tags: ['crypto'], operationId: 'reencrypt', summary: 'Re-encrypt',
  request: { body: jsonBody(Body) },
  responses: { 200: json(z.object({ ciphertext: Bytes, keyId: z.string(), version: z.number().int(), sourceVersion: z.number().int() }), 'The new envelope'), ...errorResponses },
});

export function registerReencrypt(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const out = await c.get('services').crypto.reencrypt(c.get('actor'), fromB64(b.ciphertext), b.context, b.destinationKey, b.destinationContext);
    return c.json({ ciphertext: b64(out.ciphertext), keyId: out.keyId, version: out.version, sourceVersion: out.sourceVersion }, 200);
  });
}
