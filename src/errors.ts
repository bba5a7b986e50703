// The one error taxonomy of the gateway (STYLE rule 4). Every failure that leaves the core is a
// KmsError; provider adapters throw raw SDK errors and the core wraps them exactly once.

export const errorCodes = [
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'RESOURCE_EXHAUSTED',
  'UNIMPLEMENTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
  'UNKNOWN',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export const codeToStatus: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
  UNKNOWN: 500,
};

export interface KmsErrorOptions {
  provider?: string;
  /** The connection whose call failed: its circuit breaker and retries count the failure, no other's. */
  connection?: string;
  op?: string;
  cause?: unknown;
  /** The request field at fault, for INVALID_ARGUMENT. */
  field?: string;
  /** An HTTP status more precise than the code's default (412, 413, 415, 422). */
  status?: number;
  /** Seconds after which a retry may succeed (RESOURCE_EXHAUSTED, UNAVAILABLE). */
  retryAfter?: number;
}

export class KmsError extends Error {
  override readonly name = 'KmsError';
  readonly code: ErrorCode;
  readonly provider?: string;
  readonly connection?: string;
  readonly op?: string;
  readonly field?: string;
  readonly status: number;
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options: KmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
    this.connection = options.connection;
    this.op = options.op;
    this.field = options.field;
    this.status = options.status ?? codeToStatus[code];
    this.retryAfter = options.retryAfter;
  }
}

/** Precondition check in the AWS Encryption SDK's style: `needs(cond, code, msg)` instead of ad-hoc if/throw. */
export function needs(condition: unknown, code: ErrorCode, message: string, options?: KmsErrorOptions): asserts condition {
  if (!condition) throw new KmsError(code, message, options);
}

export const isKmsError = (e: unknown): e is KmsError => e instanceof KmsError;
