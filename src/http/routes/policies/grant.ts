// POST /v1/grants — a just-in-time grant: some actions, for one principal, on one key, until a
// time at most 30 days away. It is a policy (kind `grant`) that stops permitting by itself.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { KEY_ACTIONS } from '../../../policy/engine.ts';
import { errorResponses, json, jsonBody } from '../../schemas.ts';
import { PolicyView, policyView } from './view.ts';

const Body = z.object({
  principal: z.string().min(1).max(256).openapi({ example: 'ak_01jd0000000000000000000000' }),
  key: z.string().min(1).max(140).openapi({ description: 'Key id or alias/NAME' }),
  actions: z.array(z.enum(KEY_ACTIONS)).min(1).max(KEY_ACTIONS.length),
  expiresAt: z.string().datetime(),
  reason: z.string().min(1).max(1024),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/grants', tags: ['access'], operationId: 'createGrant', summary: 'Grant a principal time-boxed access to one key',
  request: { body: jsonBody(Body) },
  responses: { 201: json(PolicyView, 'The grant, as a policy'), ...errorResponses },
}, 'gateway');

export function registerCreateGrant(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { keys, policies } = c.get('services');
    const actor = c.get('actor');
    const { key } = await keys.find(body.key);
    const row = await policies.grant({ principal: body.principal, keyId: key.id, actions: body.actions, expiresAt: new Date(body.expiresAt), reason: body.reason, by: actor.identity.principal });
    Object.assign(actor.record, { keyId: key.id, detail: { policy: row.id, principal: body.principal, actions: body.actions.join(','), expiresAt: body.expiresAt } });
    return c.json(policyView(row), 201);
  });
}
