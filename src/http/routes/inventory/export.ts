// GET /v1/inventory/export?format=csv|jsonl — every key the search matches, for a CMDB, streamed
// page by page so that a million keys export in constant memory.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses } from '../../schemas.ts';
import { pagedBody } from '../../stream.ts';
import { readSearch, SearchQuery } from '../keys/search.ts';
import { exportPage, exportRow } from '../../../inventory/export.ts';
import type { After } from '../../../db/queries/keys.ts';

const Query = SearchQuery.extend({ format: z.enum(['csv', 'jsonl']).default('csv') });

const route = defineRoute({
  method: 'get', path: '/v1/inventory/export', tags: ['inventory'], operationId: 'exportInventory', summary: 'Export the inventory (CSV or JSON lines)',
  request: { query: Query },
  responses: {
    200: { description: 'One record per key', content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } } },
    ...errorResponses,
  },
}, 'gateway');

export function registerExportInventory(app: App) {
  app.openapi(route, (c) => {
    const q = c.req.valid('query');
    const { search, sort } = readSearch(q);
    const { inventory, connections } = c.get('services');
    let after: After | undefined;
    let first = true;
    let done = false;
    const body = pagedBody(async () => {
      if (done) return undefined;
      const page = await inventory.search(search, sort, after, 1000);
      const text = exportPage(page.keys.map((g) => exportRow(g, connections)), q.format, first);
      [first, after, done] = [false, page.next, !page.next];
      return text;
    });
    c.header('Content-Type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    c.header('Content-Disposition', `attachment; filename="kmsgw-inventory.${q.format === 'csv' ? 'csv' : 'jsonl'}"`);
    // A stream is not the string the OpenAPI document describes; the bytes are the same.
    return c.body(body, 200) as unknown as Response;
  });
}
