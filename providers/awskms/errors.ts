// AWS KMS exceptions (by name) onto the gateway's taxonomy; anything not in the table is UNKNOWN.
import type { ErrorCode } from '../../src/errors.ts';

const table: Record<string, ErrorCode> = {
  NotFoundException: 'NOT_FOUND',
  AlreadyExistsException: 'ALREADY_EXISTS',
  DisabledException: 'FAILED_PRECONDITION',
  KMSInvalidStateException: 'FAILED_PRECONDITION',
  KeyUnavailableException: 'UNAVAILABLE',
  InvalidCiphertextException: 'INVALID_ARGUMENT',
  IncorrectKeyException: 'INVALID_ARGUMENT',
  InvalidKeyUsageException: 'INVALID_ARGUMENT',
  ValidationException: 'INVALID_ARGUMENT',
  IncorrectKeyMaterialException: 'INVALID_ARGUMENT',
  InvalidImportTokenException: 'INVALID_ARGUMENT',
  ExpiredImportTokenException: 'FAILED_PRECONDITION',
  InvalidArnException: 'INVALID_ARGUMENT',
  UnsupportedOperationException: 'UNIMPLEMENTED',
  AccessDeniedException: 'PERMISSION_DENIED',
  UnrecognizedClientException: 'UNAUTHENTICATED',
  ThrottlingException: 'RESOURCE_EXHAUSTED',
  LimitExceededException: 'RESOURCE_EXHAUSTED',
  DependencyTimeoutException: 'UNAVAILABLE',
  KMSInternalException: 'UNAVAILABLE',
  TimeoutError: 'DEADLINE_EXCEEDED',
};

export function awsErrorCode(err: unknown): ErrorCode {
  const name = (err as { name?: unknown })?.name;
  return typeof name === 'string' ? table[name] ?? 'UNKNOWN' : 'UNKNOWN';
}
