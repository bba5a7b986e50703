// A connection: one configured place of a provider, and the one place where every provider call
// gets the shared treatment — a deadline per attempt, exactly-once wrapping of raw errors into
// KmsError, retries, a circuit breaker and a rate limit (resilience.ts).
import { KmsError, isKmsError } from '../errors.ts';
import { withDeadline } from './deadline.ts';
import { Resilience, defaultResilience, type ResilienceOptions } from './resilience.ts';

/** Operations a repeat could do twice: retried only when the provider refused them outright. */
const notIdempotent = new Set(['createKey', 'createVersion', 'scheduleDeletion', 'destroyKey']);
import type { KeyProvider } from '../../providers/provider.ts';

export class Connection {
  private readonly resilience: Resilience;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    readonly provider: KeyProvider,
    options: { timeoutMs?: number; resilience?: Partial<ResilienceOptions> } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.resilience = new Resilience(name, { ...defaultResilience, ...options.resilience });
  }

  async call<T>(op: string, fn: (provider: KeyProvider) => Promise<T>): Promise<T> {
    const attempt = async (remainingMs: number) => {
      try {
        const ms = Math.min(this.timeoutMs, remainingMs);
        return await withDeadline(fn(this.provider), ms, `connection "${this.name}": ${op} did not answer within ${Math.round(ms)} ms`);
      } catch (err) {
        throw this.wrap(op, err);
      }
    };
    return this.resilience.execute(attempt, !notIdempotent.has(op));
  }

  private wrap(op: string, err: unknown): KmsError {
    const options = { provider: this.provider.kind, op, cause: err };
    if (isKmsError(err)) return err.provider ? err : new KmsError(err.code, err.message, { ...options, field: err.field, status: err.status });
    const code = this.provider.errorCode(err);
    // Provider messages may quote request data; the wire gets the code and the place, the log gets the cause.
    return new KmsError(code === 'UNKNOWN' ? 'INTERNAL' : code, `connection "${this.name}": ${op} failed (${code.toLowerCase()})`, options);
  }
}

export class Connections {
  private readonly byName: Map<string, Connection>;

  constructor(connections: Connection[], readonly defaultName: string) {
    this.byName = new Map(connections.map((c) => [c.name, c]));
  }

  get(name: string): Connection {
    const c = this.byName.get(name);
    if (!c) throw new KmsError('INVALID_ARGUMENT', `connection "${name}" is not configured`, { field: 'connection' });
    return c;
  }

  all(): Connection[] { return [...this.byName.values()]; }

  async close(): Promise<void> {
    await Promise.all(this.all().map((c) => c.provider.close?.()));
  }
}
