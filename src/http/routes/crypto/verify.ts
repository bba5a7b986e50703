// POST /v1/keys/{key}/verify — verify a signature made by a version (default: the current one).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Bytes, errorResponses, json, jsonBody, KeyRefParam, Version } from '../../schemas.ts';
import { fromB64 } from '../../views.ts';
import { oneOfMessageDigest, SignBase, toSignInput } from './sign.ts';

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/verify', tags: ['crypto'], operationId: 'verify', summary: 'Verify a signature',
  request: { params: KeyRefParam, body: jsonBody(SignBase.extend({ signature: Bytes, version: Version.optional() }).strict().refine(...oneOfMessageDigest)) },
  responses: { 200: json(z.object({ valid: z.boolean(), keyId: z.string(), version: z.number().int() }), 'Whether the signature is valid'), ...errorResponses },
});

export function registerVerify(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    return c.json(await c.get('services').crypto.verify(c.get('actor'), c.req.valid('param').key, b.algorithm, toSignInput(b), fromB64(b.signature), b.version), 200);
  });
}
