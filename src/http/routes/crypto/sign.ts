// POST /v1/keys/{key}/sign — sign a message or a digest with the current version.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Algorithm, Bytes, errorResponses, json, jsonBody, KeyRefParam } from '../../schemas.ts';
import { b64, fromB64 } from '../../views.ts';

export const SignBase = z.object({ message: Bytes.optional(), digest: Bytes.optional(), algorithm: Algorithm });

/** Exactly one of message and digest: shared by sign and verify. */
export const oneOfMessageDigest: [(b: { message?: string; digest?: string }) => boolean, { message: string; path: string[] }] = [
  (b) => (b.message === undefined) !== (b.digest === undefined), { message: 'send exactly one of message and digest', path: ['message'] }];

export const toSignInput = (b: { message?: string; digest?: string }) => (b.digest !== undefined ? { digest: fromB64(b.digest) } : { message: fromB64(b.message!) });

const route = defineRoute({
  method: 'post', path: '/v1/keys/{key}/sign', tags: ['crypto'], operationId: 'sign', summary: 'Sign',
  request: { params: KeyRefParam, body: jsonBody(SignBase.strict().refine(...oneOfMessageDigest)) },
  responses: { 200: json(z.object({ signature: Bytes, keyId: z.string(), version: z.number().int(), algorithm: Algorithm }), 'The signature (ECDSA: DER)'), ...errorResponses },
});

export function registerSign(app: App) {
  app.openapi(route, async (c) => {
    const b = c.req.valid('json');
    const out = await c.get('services').crypto.sign(c.get('actor'), c.req.valid('param').key, b.algorithm, toSignInput(b));
    return c.json({ signature: b64(out.signature), keyId: out.keyId, version: out.version, algorithm: b.algorithm }, 200);
  });
}
