// GET /healthz (the process answers) and /readyz (the database answers too).
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { App } from '../../app.ts';
import { json } from '../../schemas.ts';

const Status = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.string()).optional() });

export function registerHealth(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/healthz', tags: ['system'], operationId: 'health', summary: 'Liveness', responses: { 200: json(Status, 'Alive') } }),
    (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(createRoute({
    method: 'get', path: '/readyz', tags: ['system'], operationId: 'ready', summary: 'Readiness',
    responses: { 200: json(Status, 'Ready'), 503: json(Status, 'Not ready') },
  }), async (c) => {
    try {
      await c.get('services').database.db.execute(sql`select 1`);
      return c.json({ status: 'ok' as const, checks: { database: 'ok' } }, 200);
    } catch {
      return c.json({ status: 'unavailable' as const, checks: { database: 'unavailable' } }, 503);
    }
  });
}
