// Resilience for provider calls, once for every provider: retries with jittered exponential
// back-off (only for errors that mean "try again", and only for operations safe to repeat), a
// circuit breaker per connection, and a client-side rate limit below the provider's quota.
// cockatiel does the retry and the breaker; limiter's token bucket does the rate.
import {
  BrokenCircuitError, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, wrap, type IPolicy,
} from 'cockatiel';
import { RateLimiter } from 'limiter';
import { KmsError, type ErrorCode } from '../errors.ts';
import { withDeadline } from './deadline.ts';

export interface ResilienceOptions {
  /** The whole call, retries and back-off included, answers within this many milliseconds. */
  deadlineMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Consecutive failures (transient ones) that open the circuit. */
  breakerThreshold: number;
  /** How long an open circuit waits before it lets one call through to test the provider. */
  breakerHalfOpenMs: number;
  /** Calls per second this gateway instance sends the connection at most; 0 for no limit. */
  ratePerSecond: number;
}

export const defaultResilience: ResilienceOptions = {
  deadlineMs: 15_000, maxAttempts: 4, backoffInitialMs: 50, backoffMaxMs: 2_000, breakerThreshold: 10, breakerHalfOpenMs: 5_000, ratePerSecond: 0,
};

/** Codes that mean the provider did not do the work and may do it if asked again. */
const retryable = new Set<ErrorCode>(['RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED']);
/** Codes that count against the breaker: the provider itself is in trouble. */
const unhealthy = new Set<ErrorCode>(['UNAVAILABLE', 'DEADLINE_EXCEEDED']);

const codeOf = (err: Error): ErrorCode | undefined => (err instanceof KmsError ? err.code : undefined);

export class Resilience {
  private readonly retrying: IPolicy;
  private readonly once: IPolicy;
  private readonly limiter?: RateLimiter;

  private readonly deadlineMs: number;

  constructor(private readonly connection: string, options: ResilienceOptions) {
    this.deadlineMs = options.deadlineMs;
    const breaker = circuitBreaker(handleWhen((e) => unhealthy.has(codeOf(e)!)), {
      halfOpenAfter: options.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    });
    // Throttling is always safe to retry: the provider refused before doing anything.
    const throttled = retry(handleWhen((e) => codeOf(e) === 'RESOURCE_EXHAUSTED'), {
      maxAttempts: options.maxAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs, maxDelay: options.backoffMaxMs }),
    });
    const transient = retry(handleWhen((e) => retryable.has(codeOf(e)!)), {
      maxAttempts: options.maxAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs, maxDelay: options.backoffMaxMs }),
    });
    this.retrying = wrap(transient, breaker);
    this.once = wrap(throttled, breaker);
    if (options.ratePerSecond > 0) this.limiter = new RateLimiter({ tokensPerInterval: options.ratePerSecond, interval: 'second' });
  }

  /**
   * Runs `attempt` under the policy. `idempotent` operations are retried on any transient error;
   * the others (creating keys or versions, scheduling deletion) only when throttled, since a
   * timed-out create may have happened.
   */
  async execute<T>(attempt: () => Promise<T>, idempotent: boolean): Promise<T> {
    // The abort stops cockatiel's retry loop when the overall deadline passes, so no attempt outlives it.
    const stop = new AbortController();
    const run = async () => {
      if (this.limiter) await this.limiter.removeTokens(1);
      return (idempotent ? this.retrying : this.once).execute(attempt, stop.signal);
    };
    try {
      return await withDeadline(run(), this.deadlineMs, `connection "${this.connection}" did not answer within ${this.deadlineMs} ms`, () => stop.abort());
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new KmsError('UNAVAILABLE', `connection "${this.connection}" is failing; calls are paused for a moment (circuit open)`, { cause: err, retryAfter: 5 });
      }
      throw err;
    }
  }
}
