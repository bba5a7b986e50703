// POST /v1/approvals — ask for approval of one operation on one key (or gateway target). The
// number of approvals needed is what the policies in force ask of this principal for it.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { needs } from '../../../errors.ts';
import { ALL_ACTIONS, KEY_ACTIONS } from '../../../policy/engine.ts';
import { MAX_APPROVAL_HOURS } from '../../../policy/approvals.ts';
import { errorResponses, json, jsonBody } from '../../schemas.ts';
import { ApprovalView, approvalView } from './view.ts';

const Body = z.object({
  operation: z.enum(ALL_ACTIONS).openapi({ description: 'The operationId to approve, e.g. scheduleKeyDeletion' }),
  key: z.string().min(1).max(140).optional().openapi({ description: 'Key id or alias/NAME, for operations on a key' }),
  target: z.string().max(256).optional().openapi({ description: 'For gateway operations with an id in their path (putPolicy, deletePolicy, revokeApiKey): that id' }),
  reason: z.string().min(1).max(1024),
  expiresAt: z.string().datetime().optional().openapi({ description: `Default 24 hours ahead, at most ${MAX_APPROVAL_HOURS} hours` }),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/approvals', tags: ['approvals'], operationId: 'requestApproval', summary: 'Ask for approval of a sensitive operation',
  request: { body: jsonBody(Body) },
  responses: { 201: json(ApprovalView, 'The pending request'), ...errorResponses },
}, 'gateway');

export function registerRequestApproval(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { keys, approvals } = c.get('services');
    const onKey = KEY_ACTIONS.includes(body.operation);
    needs(body.operation !== 'createKey', 'INVALID_ARGUMENT', 'createKey is not approved in advance: govern it with policies and governance rules', { field: 'operation' });
    needs(onKey === (body.key !== undefined), 'INVALID_ARGUMENT', onKey ? `${body.operation} is an operation on a key: name it in "key"` : `${body.operation} is not an operation on a key: leave "key" out`, { field: 'key' });
    needs(!onKey || body.target === undefined, 'INVALID_ARGUMENT', '"target" is for gateway operations; a key operation\'s target is its key', { field: 'target' });
    const graph = await approvals.request(c.get('actor'), {
      operation: body.operation, key: body.key === undefined ? undefined : await keys.find(body.key), target: body.target ?? '', reason: body.reason,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
    });
    return c.json(approvalView(graph), 201);
  });
}
