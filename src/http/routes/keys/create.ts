// POST /v1/keys — create a key on a connection (the default one unless named).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { idempotent } from '../../idempotency.ts';
import { Algorithm, Bytes, errorResponses, json, jsonBody, KeyView, Spec, Tags, Usage } from '../../schemas.ts';
import { fromB64, keyView } from '../../views.ts';
import { heldMaterial } from '../../../crypto/material.ts';
import type { CreateKeyInput, InTransaction } from '../../../keys/model.ts';
import { rsaAesSchemes } from '../../../../providers/provider.ts';

const Body = z.object({
  spec: Spec,
  usage: Usage,
  signingAlgorithm: Algorithm.optional().openapi({ description: 'SIGN_VERIFY keys: pin the one algorithm the key signs with. Backends that fix it per key (gcp) pin the spec\'s first algorithm unless told' }),
  description: z.string().max(8192).optional(),
  tags: Tags.optional(),
  aliases: z.array(z.string()).max(20).optional(),
  rotationPeriodDays: z.number().int().min(1).max(3650).optional(),
  activationDate: z.string().datetime({ offset: true }).optional(),
  protectStopDate: z.string().datetime({ offset: true }).optional(),
  deactivationDate: z.string().datetime({ offset: true }).optional(),
  exportable: z.boolean().optional(),
  connection: z.string().optional(),
  replicas: z.array(z.string()).max(8).optional().openapi({ description: 'ENCRYPT_DECRYPT keys: connections that each hold an independent replica key; every envelope carries the data key wrapped under the primary and each replica, so any one of them decrypts it' }),
  material: z.object({
    wrappedKey: Bytes.openapi({ description: 'The key (raw bytes for AES and HMAC, PKCS#8 DER for key pairs) wrapped with CKM_RSA_AES_KEY_WRAP: OAEP of a fresh AES-256 key, then RFC 5649 key wrap of the key under it' }),
    wrappingKey: z.string().min(1).max(140).openapi({ description: 'The gateway RSA key (WRAP_UNWRAP, id or alias/NAME) whose public key it is wrapped for; the caller needs UNWRAP on it' }),
    scheme: z.enum(rsaAesSchemes).default('RSA_AES_KEY_WRAP_SHA_256'),
  }).strict().optional().openapi({ description: 'Bring your own key: the key is made of this material instead of new material, imported by the connection through its own scheme; its origin is IMPORTED' }),
}).strict().openapi('CreateKey');

const route = defineRoute({
  method: 'post', path: '/v1/keys', tags: ['keys'], operationId: 'createKey', summary: 'Create a key',
  description: 'Send an `Idempotency-Key` header to make retries safe: a retry replays the first response.',
  request: { body: jsonBody(Body), headers: z.object({ 'idempotency-key': z.string().optional() }) },
  responses: { 201: json(KeyView, 'The new key'), ...errorResponses, 422: errorResponses[400] },
});

export function registerCreateKey(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const date = (s?: string) => (s ? new Date(s) : undefined);
    const { keys, crypto } = c.get('services');
    const actor = c.get('actor');
    const create = (complete: InTransaction | undefined, material?: CreateKeyInput['material']) => keys.create(actor, {
      ...body, activationDate: date(body.activationDate), protectStopDate: date(body.protectStopDate), deactivationDate: date(body.deactivationDate), material,
    }, complete);
    return idempotent(c, {
      scope: 'createKey', status: 201, request: body,
      run: async (complete) => {
        if (!body.material) return keyView(await create(complete));
        const { wrappedKey, wrappingKey, scheme } = body.material;
        const material = await crypto.openBrought(actor, wrappingKey, fromB64(wrappedKey), scheme, body.spec);
        try {
          return keyView(await create(complete, heldMaterial(body.spec, material)));
        } finally {
          material.fill(0);
        }
      },
      replay: async (id) => keyView(await keys.get(c.get('actor'), id)),
    }) as never;
  });
}
