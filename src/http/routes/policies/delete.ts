// DELETE /v1/policies/{id} — take a stored policy (or grant) out of force; its versions stay.
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { PolicyView, policyView } from './view.ts';
import { PolicyIdParam } from './params.ts';

const route = defineRoute({
  method: 'delete', path: '/v1/policies/{id}', tags: ['access'], operationId: 'deletePolicy', summary: 'Remove an access policy',
  request: { params: PolicyIdParam },
  responses: { 200: json(PolicyView, 'The removal, as the policy\'s newest version'), ...errorResponses },
}, 'gateway');

export function registerDeletePolicy(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const actor = c.get('actor');
    const row = await c.get('services').policies.remove(id, actor.identity.principal);
    actor.record.detail = { policy: id, version: String(row.version) };
    return c.json(policyView(row), 200);
  });
}
