// Checks a request body before any handler reads it: 413 over the size limit, 415 when it is not
// JSON. A declared Content-Length is decided from the header alone (node's HTTP parser never
// delivers more than it declares); only chunked bodies are counted as they stream, by hono's
// bodyLimit. Reading the header keeps the body off the web-stream path, which cost more than half
// the throughput of a small JSON request.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { KmsError } from '../../errors.ts';
import { problemResponse } from '../problem.ts';

export const MERGE_PATCH = 'application/merge-patch+json';

export function bodyGuard(options: { maxBytes: number }): MiddlewareHandler {
  const tooLarge = new KmsError('RESOURCE_EXHAUSTED', `request body is larger than ${options.maxBytes} bytes`, { status: 413 });
  const streaming = bodyLimit({ maxSize: options.maxBytes, onError: (c) => problemResponse(c, tooLarge) });
  return async function bodyGuardMiddleware(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'DELETE') return next();
    const length = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    // RFC 9112 §6.3: a request with neither Content-Length nor Transfer-Encoding has no body
    // (curl -X POST sends such requests); asking the adapter for a stream would invent one.
    if (!chunked && (length === undefined || length === '0')) {
      // A Content-Type on no body (curl -X POST -H 'content-type: …', fetch's bodiless POST) describes
      // no content: dropped, so that an optional body reads as absent rather than as malformed JSON.
      c.req.raw.headers.delete('content-type');
      return next();
    }
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    // A PATCH body is a JSON merge patch (RFC 7396), sent under its own media type or as plain JSON.
    const patch = c.req.method === 'PATCH';
    if (type !== 'application/json' && !(patch && type === MERGE_PATCH)) {
      const expected = patch ? `${MERGE_PATCH} or application/json` : 'application/json';
      return problemResponse(c, new KmsError('INVALID_ARGUMENT', `content-type must be ${expected}, not "${type ?? 'none'}"`, { status: 415 }));
    }
    // A chunked body is counted as it streams; that path costs, but is rare.
    if (chunked) return streaming(c, next);
    return Number(length) > options.maxBytes ? problemResponse(c, tooLarge) : next();
  };
}
