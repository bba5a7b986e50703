// RFC 9457 problem details: the one shape of every error on the wire.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { KmsError, isKmsError, type ErrorCode } from '../errors.ts';
import type { Actor } from '../keys/model.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  field?: string;
}

const titles: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  412: 'Precondition Failed', 413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Errors that are not KmsErrors become INTERNAL with a generic detail: their messages may hold anything. */
export function toKmsError(err: unknown): KmsError {
  if (isKmsError(err)) return err;
  if (err instanceof HTTPException && err.status < 500) {
    const code: ErrorCode = err.status === 413 ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
    return new KmsError(code, err.message.toLowerCase() || 'bad request', { status: err.status, cause: err });
  }
  return new KmsError('INTERNAL', 'internal error; see the gateway log for this request id', { cause: err });
}

export function problemResponse(c: Context, err: KmsError, headers: Record<string, string> = {}): Response {
  const body: Problem = {
    type: `https://kms-gateway.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: titles[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    code: err.code,
    requestId: c.get('requestId') ?? '',
    ...(err.field && { field: err.field }),
  };
  const actor = c.get('actor') as Actor | undefined;
  if (actor) actor.record.outcome = err.code;
  if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
  // Through the context, so headers prepared earlier in the request (X-Request-Id) are kept.
  return c.body(JSON.stringify(body), err.status as ContentfulStatusCode, { 'Content-Type': 'application/problem+json', ...headers });
}
