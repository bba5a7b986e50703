// Resilience for provider calls, once for every provider: retries with jittered exponential
// back-off (only for errors that mean "try again", and only for operations safe to repeat), a
// circuit breaker per connection, and a client-side rate limit below the provider's quota.
// cockatiel does the retry and the breaker; limiter's token bucket does the rate.
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, wrap, type CircuitBreakerPolicy,
  type IBackoff, type IBackoffFactory, type IPolicy, type IRetryBackoffContext,
} from 'cockatiel';
import { RateLimiter } from 'limiter';
import { KmsError, type ErrorCode } from '../errors.ts';

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

/** The code of a failure of `connection`'s own call; none for another connection's failure inside it, or a spent budget. */
const codeOf = (err: Error, connection: string): ErrorCode | undefined =>
  (err instanceof KmsError && !(err instanceof OutOfTime) && err.connection === connection ? err.code : undefined);

/** The call's budget is spent: never retried, never counted against the provider. */
class OutOfTime extends KmsError {}

type RetryContext = IRetryBackoffContext<unknown>;

/**
 * Waits as long as the provider asked (Retry-After on a 429 or 503, capped at the longest back-off)
 * when it did, and by jittered exponential back-off otherwise.
 */
class ProviderPacedBackoff implements IBackoffFactory<RetryContext> {
  constructor(private readonly fallback: IBackoffFactory<RetryContext>, private readonly maxMs: number) {}

  next(context: RetryContext): IBackoff<RetryContext> {
    const fallback = this.fallback.next(context);
    const err = 'error' in context.result ? context.result.error : undefined;
    const asked = err instanceof KmsError ? err.retryAfter : undefined;
    return {
      duration: asked === undefined ? fallback.duration : Math.min(asked * 1000, this.maxMs),
      next: (c: RetryContext) => new ProviderPacedBackoff(fallback, this.maxMs).next(c),
    };
  }
}

export class Resilience {
  private readonly retrying: IPolicy;
  private readonly once: IPolicy;
  private readonly limiter?: RateLimiter;
  private readonly breaker: CircuitBreakerPolicy;

  private readonly deadlineMs: number;

  constructor(private readonly connection: string, options: ResilienceOptions) {
    this.deadlineMs = options.deadlineMs;
    const breaker = this.breaker = circuitBreaker(handleWhen((e) => unhealthy.has(codeOf(e, connection)!)), {
      halfOpenAfter: options.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    });
    const retryWhen = (codes: ReadonlySet<ErrorCode>) => retry(handleWhen((e) => codes.has(codeOf(e, connection)!)), {
      maxAttempts: options.maxAttempts - 1,
      backoff: new ProviderPacedBackoff(new ExponentialBackoff({ initialDelay: options.backoffInitialMs, maxDelay: options.backoffMaxMs }), options.backoffMaxMs),
    });
    this.retrying = wrap(retryWhen(retryable), breaker);
    // Throttling is always safe to retry: the provider refused before doing anything.
    this.once = wrap(retryWhen(new Set(['RESOURCE_EXHAUSTED'])), breaker);
    if (options.ratePerSecond > 0) this.limiter = new RateLimiter({ tokensPerInterval: options.ratePerSecond, interval: 'second' });
  }

  /** The circuit: `open` while calls are refused at once after repeated failures, `half-open` while one tests the provider. */
  get circuit(): 'closed' | 'open' | 'half-open' {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated ? 'open'
      : this.breaker.state === CircuitState.HalfOpen ? 'half-open' : 'closed';
  }

  /** One call's worth of the rate limit, for work that makes many backend calls under one execute. */
  async pace(): Promise<void> {
    if (this.limiter) await this.limiter.removeTokens(1);
  }

  /**
   * Runs `attempt` under the policy, giving each try the time left of the call's deadline.
   * `idempotent` operations are retried on any transient error; the others (creating keys or
   * versions, scheduling deletion) only when throttled, since a timed-out create may have happened.
   * A call answers within its deadline (`atLeastMs` when that is longer: key generation) plus at
   * most one back-off step. While one call tests a half-open circuit, the others are refused at
   * once rather than queued behind it (cockatiel would make them wait for the test, which against a
   * connection gone dark lasts a whole timeout).
   */
  async execute<T>(attempt: (remainingMs: number) => Promise<T>, idempotent: boolean, atLeastMs?: number): Promise<T> {
    const deadlineMs = Math.max(this.deadlineMs, atLeastMs ?? 0);
    const deadlineAt = performance.now() + deadlineMs;
    const run = () => {
      const remaining = deadlineAt - performance.now();
      if (remaining <= 0) throw new OutOfTime('DEADLINE_EXCEEDED', `connection "${this.connection}" did not answer within ${deadlineMs} ms, retries included`);
      return attempt(remaining);
    };
    await this.pace();
    try {
      if (this.breaker.state === CircuitState.HalfOpen) throw new BrokenCircuitError();
      return await (idempotent ? this.retrying : this.once).execute(run);
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new KmsError('UNAVAILABLE', `connection "${this.connection}" is failing; calls are paused for a moment (circuit open)`, { cause: err, retryAfter: 5 });
      }
      throw err;
    }
  }
}
