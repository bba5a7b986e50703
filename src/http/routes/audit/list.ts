// GET /v1/audit/events — the audit trail, filtered, in order, for auditors.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { queryAuditEvents, type AuditRow } from '../../../db/queries/audit.ts';
import { errorResponses, json } from '../../schemas.ts';

const Query = z.object({
  principal: z.string().max(256).optional(),
  keyId: z.string().regex(/^key_[0-9a-z]{26}$/).optional(),
  action: z.string().max(64).optional(),
  decision: z.enum(['allow', 'deny']).optional(),
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'Events after this seq (the cursor)' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const AuditEventView = z.object({
  seq: z.number().int(), id: z.string(), at: z.string().datetime(), requestId: z.string(), principal: z.string(), authMethod: z.string(),
  action: z.string().nullable(), route: z.string(), keyId: z.string().nullable(), keyVersion: z.number().int().nullable(), connection: z.string().nullable(),
  decision: z.enum(['allow', 'deny']), reasons: z.array(z.string()), status: z.number().int(), outcome: z.string(), breakGlass: z.boolean(),
  detail: z.record(z.string(), z.string()), prevHash: z.string(), hash: z.string(),
}).openapi('AuditEvent');

const route = defineRoute({
  method: 'get', path: '/v1/audit/events', tags: ['audit'], operationId: 'listAuditEvents', summary: 'Query the audit trail',
  request: { query: Query },
  responses: { 200: json(z.object({ events: z.array(AuditEventView), nextCursor: z.number().int().nullable() }), 'A page of events'), ...errorResponses },
}, 'gateway');

const view = (r: AuditRow) => ({ ...r, at: r.at.toISOString() });

export function registerListAuditEvents(app: App) {
  app.openapi(route, async (c) => {
    const { limit, after, ...filter } = c.req.valid('query');
    const rows = await queryAuditEvents(c.get('services').database.db, { ...filter, afterSeq: after }, limit + 1);
    const page = rows.slice(0, limit);
    return c.json({ events: page.map(view), nextCursor: rows.length > limit ? page.at(-1)!.seq : null }, 200);
  });
}
