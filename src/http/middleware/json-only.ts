// Refuses request bodies that are not JSON with 415, before any handler reads them.
import type { MiddlewareHandler } from 'hono';
import { KmsError } from '../../errors.ts';
import { problemResponse } from '../problem.ts';

export function jsonOnly(options: { methods?: string[] } = {}): MiddlewareHandler {
  const methods = new Set(options.methods ?? ['POST', 'PUT', 'PATCH']);
  return async function jsonOnlyMiddleware(c, next) {
    const hasBody = c.req.header('content-length') !== undefined && c.req.header('content-length') !== '0' || c.req.header('transfer-encoding') !== undefined;
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (methods.has(c.req.method) && hasBody && type !== 'application/json') {
      return problemResponse(c, new KmsError('INVALID_ARGUMENT', `content-type must be application/json, not "${type ?? 'none'}"`, { status: 415 }));
    }
    await next();
  };
}
