// POST /v1/keys — create a key on a connection (the default one unless named).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { idempotent } from '../../idempotency.ts';
import { Algorithm, errorResponses, json, jsonBody, KeyView, Spec, Tags, Usage } from '../../schemas.ts';
import { keyView } from '../../views.ts';
import { broughtMaterial, MaterialBody } from './material.ts';

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
  material: MaterialBody.optional().openapi({ description: 'Bring your own key: the key is made of this material instead of new material, imported by the connection through its own scheme; its origin is IMPORTED' }),
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
    return idempotent(c, {
      scope: 'createKey', status: 201, request: body,
      run: async (complete) => keyView(await keys.create(actor, {
        ...body, activationDate: date(body.activationDate), protectStopDate: date(body.protectStopDate), deactivationDate: date(body.deactivationDate),
        material: body.material && broughtMaterial(crypto, actor, body.material),
      }, complete)),
      replay: async (id) => keyView(await keys.get(c.get('actor'), id)),
    }) as never;
  });
}
