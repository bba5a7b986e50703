// POST /v1/api-keys — make an API key; its secret is in this reply and nowhere else, ever.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { ROLES } from '../../../auth/identity.ts';
import { createApiKey } from '../../../auth/api-keys.ts';
import { errorResponses, json, jsonBody } from '../../schemas.ts';
import { ApiKeyView, apiKeyView } from './view.ts';

const Body = z.object({
  name: z.string().min(1).max(128),
  roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
  groups: z.array(z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/)).max(32).optional(),
  expiresAt: z.string().datetime().optional().openapi({ description: 'Required, and at most 24 h away, for the break-glass role' }),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/api-keys', tags: ['access'], operationId: 'createApiKey', summary: 'Create an API key',
  request: { body: jsonBody(Body) },
  responses: { 201: json(ApiKeyView.extend({ secret: z.string().openapi({ description: 'Shown once: the gateway keeps only its hash' }) }), 'The new key and its secret'), ...errorResponses },
}, 'gateway');

export function registerCreateApiKey(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const actor = c.get('actor');
    const { row, secret } = await createApiKey(c.get('services').database.db, {
      name: body.name, roles: body.roles, groups: body.groups, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined, createdBy: actor.identity.principal,
    });
    actor.record.detail = { apiKey: row.id, roles: row.roles.join(',') };
    return c.json({ ...apiKeyView(row), secret }, 201);
  });
}
