// PUT /v1/policies/{id} — add or change an access policy (Cedar text with @id("{id}")), checked
// against the schema before it is accepted; the change is a new version, in force on every instance.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, jsonBody } from '../../schemas.ts';
import { PolicyView, policyView } from './view.ts';
import { PolicyIdParam } from './params.ts';

const Body = z.object({ text: z.string().min(1).max(65_536), description: z.string().max(1024).default('') }).strict();

const route = defineRoute({
  method: 'put', path: '/v1/policies/{id}', tags: ['access'], operationId: 'putPolicy', summary: 'Add or change an access policy',
  request: { params: PolicyIdParam, body: jsonBody(Body) },
  responses: { 200: json(PolicyView, 'The policy\'s new version'), ...errorResponses },
}, 'gateway');

export function registerPutPolicy(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const { text, description } = c.req.valid('json');
    const actor = c.get('actor');
    const row = await c.get('services').policies.put(id, text, description, actor.identity.principal);
    actor.record.detail = { policy: id, version: String(row.version) };
    return c.json(policyView(row), 200);
  });
}
