// One structured log line per request: method, route pattern (never the raw path, which may carry
// aliases), status and duration. Bodies are never logged.
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';

export function accessLog(options: { logger: Logger }): MiddlewareHandler {
  const { logger } = options;
  return async function accessLogMiddleware(c, next) {
    const start = performance.now();
    await next();
    if (!logger.isLevelEnabled('info')) return;
    logger.info({ requestId: c.get('requestId'), method: c.req.method, route: routePath(c), status: c.res.status, ms: Math.round((performance.now() - start) * 100) / 100 }, 'request');
  };
}
