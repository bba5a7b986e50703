// GET /v1/audit/export?format=jsonl|syslog — the audit trail as a stream for a SIEM, page by page
// from the database so that any length streams in constant memory.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { TypedResponse } from 'hono';
import type { App } from '../../app.ts';
import { auditPage } from '../../../db/queries/audit.ts';
import { toJsonLine, toSyslog } from '../../../audit/export.ts';
import { errorResponses } from '../../schemas.ts';
import { pagedBody } from '../../stream.ts';

const Query = z.object({
  format: z.enum(['jsonl', 'syslog']).default('jsonl'),
  after: z.coerce.number().int().min(0).default(0).openapi({ description: 'Only events after this seq' }),
});

const route = defineRoute({
  method: 'get', path: '/v1/audit/export', tags: ['audit'], operationId: 'exportAudit', summary: 'Export the audit trail (JSON lines or RFC 5424 syslog)',
  request: { query: Query },
  responses: {
    200: { description: 'The events, one per line', content: { 'application/x-ndjson': { schema: z.string() }, 'text/plain': { schema: z.string() } } },
    ...errorResponses,
  },
}, 'gateway');

export function registerExportAudit(app: App) {
  app.openapi(route, (c) => {
    const { format, after } = c.req.valid('query');
    const { db } = c.get('services').database;
    const line = format === 'jsonl' ? toJsonLine : toSyslog;
    let seq = after;
    const body = pagedBody(async () => {
      const page = await auditPage(db, seq, 1000);
      if (page.length === 0) return undefined;
      seq = page.at(-1)!.seq;
      return page.map(line).join('');
    });
    c.header('Content-Type', format === 'jsonl' ? 'application/x-ndjson' : 'text/plain; charset=utf-8');
    // A stream is not the string the OpenAPI document describes each line as; the bytes are the same.
    return c.body(body, 200) as unknown as TypedResponse<string, 200, 'text'>;
  });
}
