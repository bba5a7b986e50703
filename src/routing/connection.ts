// A connection: one configured place of a provider, and the one place where every provider call
// gets the shared treatment — a deadline per attempt, exactly-once wrapping of raw errors into
// KmsError, retries, a circuit breaker and a rate limit (resilience.ts).
import { KmsError, isKmsError } from '../errors.ts';
import { withDeadline } from './deadline.ts';
import { Resilience, defaultResilience, type ResilienceOptions } from './resilience.ts';
import type { KeyProvider } from '../../providers/provider.ts';

/** Operations a repeat could do twice: retried only when the provider refused them outright. */
const notIdempotent = new Set(['createKey', 'createVersion', 'importKey']);
/**
 * Operations that take long by nature, under the generation timeout: generating key material (an
 * RSA-4096 pair takes seconds on an HSM or a busy host), a discovery page and a search for a
 * creation (hundreds of backend calls), an import (Cloud KMS makes an import job's key pair, then
 * imports in the background). Under the per-call timeout they would time out, be retried
 * and open the circuit for live traffic.
 */
const slow = new Set(['createKey', 'createVersion', 'importKey', 'discoverKeys', 'findCreated']);

export class Connection {
  private readonly resilience: Resilience;
  private readonly timeoutMs: number;
  private readonly generationTimeoutMs: number;
  /** Where the connection's keys live (AWS region, Cloud KMS location, or as declared), for placement rules. */
  readonly region?: string;

  constructor(
    readonly name: string,
    readonly provider: KeyProvider,
    options: { timeoutMs?: number; generationTimeoutMs?: number; resilience?: Partial<ResilienceOptions>; region?: string } = {},
  ) {
    this.region = options.region;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.generationTimeoutMs = options.generationTimeoutMs ?? 60_000;
    this.resilience = new Resilience(name, { ...defaultResilience, ...options.resilience });
  }

  /** How the connection has fared on live traffic: its circuit breaker's state. */
  get circuit(): 'closed' | 'open' | 'half-open' {
    return this.resilience.circuit;
  }

  /** Waits for one call's worth of the connection's rate limit (see Discoverer). */
  pace(): Promise<void> {
    return this.resilience.pace();
  }

  async call<T>(op: string, fn: (provider: KeyProvider) => Promise<T>): Promise<T> {
    const timeoutMs = slow.has(op) ? Math.max(this.timeoutMs, this.generationTimeoutMs) : this.timeoutMs;
    const attempt = async (remainingMs: number) => {
      try {
        const ms = Math.min(timeoutMs, remainingMs);
        return await withDeadline(fn(this.provider), ms, `connection "${this.name}": ${op} did not answer within ${Math.round(ms)} ms`);
      } catch (err) {
        throw this.wrap(op, err);
      }
    };
    return this.resilience.execute(attempt, !notIdempotent.has(op), slow.has(op) ? timeoutMs : undefined);
  }

  /**
   * A failure of this connection's call as a KmsError naming the connection. One that names another
   * connection passes as it is: a call of that connection made inside this one's (an importer asking
   * the exporter to wrap) failed, and only that connection's breaker may count it.
   */
  private wrap(op: string, err: unknown): KmsError {
    const options = { provider: this.provider.kind, connection: this.name, op, cause: err, retryAfter: this.provider.retryAfter?.(err) };
    if (isKmsError(err)) return err.connection ? err : new KmsError(err.code, err.message, { ...options, field: err.field, status: err.status });
    const mapped = this.provider.errorCode(err);
    const code = mapped === 'UNKNOWN' && unreachable(err) ? 'UNAVAILABLE' : mapped;
    // Provider messages may quote request data; the wire gets the code and the place, the log gets the cause.
    return new KmsError(code === 'UNKNOWN' ? 'INTERNAL' : code, `connection "${this.name}": ${op} failed (${code.toLowerCase()})`, options);
  }
}

/** Socket-level failures, the same whatever the SDK: the provider could not be reached at all. */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function unreachable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (networkCodes.has(e.code as string)) return true;
    // fetch-based clients: undici's "fetch failed", a mocked network error's "Network error".
    if (e instanceof TypeError && /^(fetch failed|network error)$/i.test(String(e.message))) return true;
  }
  return false;
}

export class Connections {
  private readonly byName: Map<string, Connection>;

  constructor(connections: Connection[], readonly defaultName: string) {
    this.byName = new Map(connections.map((c) => [c.name, c]));
  }

  get(name: string): Connection {
    const c = this.find(name);
    if (!c) throw new KmsError('INVALID_ARGUMENT', `connection "${name}" is not configured`, { field: 'connection' });
    return c;
  }

  /** The connection, or none when it is not configured (any more). */
  find(name: string): Connection | undefined { return this.byName.get(name); }

  all(): Connection[] { return [...this.byName.values()]; }

  async close(): Promise<void> {
    await Promise.all(this.all().map((c) => c.provider.close?.()));
  }
}
