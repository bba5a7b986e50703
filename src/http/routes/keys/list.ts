// GET /v1/keys — search the inventory: filters, sort and cursor pagination.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyView } from '../../schemas.ts';
import { keyView } from '../../views.ts';
import { keyAfter, keyCursor } from '../../cursor.ts';
import { readSearch, SearchQuery } from './search.ts';

const Query = SearchQuery.extend({
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

const route = defineRoute({
  method: 'get', path: '/v1/keys', tags: ['keys'], operationId: 'listKeys', summary: 'List and search keys',
  request: { query: Query },
  responses: { 200: json(z.object({ keys: z.array(KeyView), nextCursor: z.string().nullable() }), 'A page of keys'), ...errorResponses },
}, 'gateway');

export function registerListKeys(app: App) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const { search, sort } = readSearch(q);
    const page = await c.get('services').inventory.search(search, sort, keyAfter(q.cursor, sort), q.limit);
    return c.json({ keys: page.keys.map((g) => keyView(g)), nextCursor: keyCursor(page.next, sort) }, 200);
  });
}
