// GET /metrics — Prometheus metrics, for a scraper holding an auditor's or administrator's API key
// (Prometheus' `authorization` scrape setting).
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses } from '../../schemas.ts';

const route = defineRoute({
  method: 'get', path: '/metrics', tags: ['system'], operationId: 'getMetrics', summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses },
}, 'gateway');

export function registerMetrics(app: App) {
  app.openapi(route, async (c) => {
    const { registry } = c.get('services').metrics;
    return c.text(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });
}
