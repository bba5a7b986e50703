// Key Vault errors onto the gateway's taxonomy: by HTTP status (RestError.statusCode), then by the
// error's name for what never reached the vault; anything else is UNKNOWN.
import type { ErrorCode } from '../../src/errors.ts';

const byStatus: Record<number, ErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'UNAVAILABLE',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const byName: Record<string, ErrorCode> = {
  AbortError: 'DEADLINE_EXCEEDED',
  CredentialUnavailableError: 'UNAUTHENTICATED',
  AuthenticationError: 'UNAUTHENTICATED',
  AggregateAuthenticationError: 'UNAUTHENTICATED',
};

export function azureErrorCode(err: unknown): ErrorCode {
  const e = err as { statusCode?: unknown; name?: unknown; code?: unknown };
  if (typeof e?.statusCode === 'number') return byStatus[e.statusCode] ?? 'UNKNOWN';
  if (e?.code === 'REQUEST_SEND_ERROR') return 'UNAVAILABLE';
  return typeof e?.name === 'string' ? byName[e.name] ?? 'UNKNOWN' : 'UNKNOWN';
}
