// POST /v1/keys/{key}/data-key — a fresh data key, as an envelope and (unless declined) in the clear.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, Context, errorResponses, json, KeyRefParam } from '../../schemas.ts';
import { b64 } from '../../views.ts';

const Body = z.object({
  withPlaintext: z.boolean().default(true),
  bytes: z.number().int().min(16).max(1024).default(32),
  context: Context.optional(),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/data-key', tags: ['crypto'], operationId: 'generateDataKey', summary: 'Generate a data key',
  description: '`ciphertext` is an envelope of the data key: `/v1/decrypt` returns the data key from it.',
  request: { params: KeyRefParam, body: { required: false, content: { 'application/json': { schema: Body } } } },
  responses: { 200: json(z.object({ plaintext: Bytes.optional(), ciphertext: Bytes, keyId: z.string(), version: z.number().int() }), 'The data key'), ...errorResponses },
});

export function registerDataKey(app: App) {
  app.openapi(route, async (c) => {
    // An absent body validates as {} without the schema's defaults: parse again to apply them.
    const { withPlaintext, bytes, context } = Body.parse(c.req.valid('json') ?? {});
    const out = await c.get('services').crypto.generateDataKey(c.get('actor'), c.req.valid('param').key, bytes, context);
    const body = { ...(withPlaintext && { plaintext: b64(out.plaintext) }), ciphertext: b64(out.ciphertext), keyId: out.keyId, version: out.version };
    out.plaintext.fill(0);
    return c.json(body, 200);
  });
}
