// GET /v1/audit/verify — prove the audit chain from its first event, or name the first broken one.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { verifyAuditChain } from '../../../audit/verify.ts';
import { errorResponses, json } from '../../schemas.ts';

const Report = z.object({
  valid: z.boolean(),
  events: z.number().int().openapi({ description: 'Events proven before the first break (all of them when valid)' }),
  head: z.string().optional().openapi({ description: 'The newest event\'s hash: record it elsewhere to anchor the chain' }),
  brokenAt: z.object({ seq: z.number().int(), id: z.string().optional(), problem: z.string() }).optional(),
}).openapi('AuditChainReport');

const route = defineRoute({
  method: 'get', path: '/v1/audit/verify', tags: ['audit'], operationId: 'verifyAudit', summary: 'Verify the audit hash chain',
  responses: { 200: json(Report, 'The verdict (200 whether or not the chain holds)'), ...errorResponses },
}, 'gateway');

export function registerVerifyAudit(app: App) {
  app.openapi(route, async (c) => c.json(await verifyAuditChain(c.get('services').database.db), 200));
}
