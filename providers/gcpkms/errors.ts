// Cloud KMS errors onto the gateway's taxonomy. Over the REST transport a failed call arrives as a
// gaxios error whose message is Google's JSON error ({error: {code, message, status}}); over gRPC
// as a GoogleError with a numeric status code. Both carry a canonical status, which one table maps;
// anything else is UNKNOWN.
import type { ErrorCode } from '../../src/errors.ts';

const byStatus: Record<string, ErrorCode> = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  OUT_OF_RANGE: 'INVALID_ARGUMENT',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'UNAVAILABLE',
  ABORTED: 'UNAVAILABLE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
};
/** gRPC status numbers, in the order of google.rpc.Code. */
const grpcNames = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const byHttp: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

export function gcpErrorCode(err: unknown): ErrorCode {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; status?: unknown; response?: unknown };
  if (e?.name === 'AbortError') return 'DEADLINE_EXCEEDED';
  const name = e?.response !== undefined ? statusOf(e.message) ?? byHttp[e.status as number] : grpcNames[e?.code as number];
  return (name ? byStatus[name] : undefined) ?? 'UNKNOWN';
}

function statusOf(message: unknown): string | undefined {
  try {
    return (JSON.parse(String(message)) as { error?: { status?: string } }).error?.status;
  } catch {
    return undefined;
  }
}
