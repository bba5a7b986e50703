// GET /v1/policies — the policy set: shipped policies, then stored ones (each id's newest version;
// removed and lapsed ones too, marked, so that an auditor sees what changed).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { latestVersions } from '../../../db/queries/policies.ts';
import { errorResponses, json } from '../../schemas.ts';
import { PolicyView, policyView } from './view.ts';

const route = defineRoute({
  method: 'get', path: '/v1/policies', tags: ['access'], operationId: 'listPolicies', summary: 'List access policies',
  responses: { 200: json(z.object({ policies: z.array(PolicyView), schema: z.string() }), 'The policies and the Cedar schema they are written against'), ...errorResponses },
}, 'gateway');

export function registerListPolicies(app: App) {
  app.openapi(route, async (c) => {
    const { access, database } = c.get('services');
    const { engine } = access;
    const shipped = Object.entries(engine.shippedPolicies).map(([id, text]) => ({
      id, version: 0, kind: 'shipped' as const, description: 'shipped with the gateway (policies/roles)', text, removed: false, expiresAt: null, createdBy: 'kms-gateway', createdAt: null,
    }));
    return c.json({ policies: [...shipped, ...(await latestVersions(database.db)).map(policyView)], schema: engine.schema }, 200);
  });
}
