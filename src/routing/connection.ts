// A connection: one configured place of a provider, and the one place where every provider call
// gets the shared treatment — a deadline and exactly-once wrapping of raw errors into KmsError.
import { KmsError, isKmsError } from '../errors.ts';
import type { KeyProvider } from '../../providers/provider.ts';

export class Connection {
  constructor(
    readonly name: string,
    readonly provider: KeyProvider,
    private readonly timeoutMs = 10_000,
  ) {}

  async call<T>(op: string, fn: (provider: KeyProvider) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KmsError('DEADLINE_EXCEEDED', `${this.name}: ${op} did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(this.provider), deadline]);
    } catch (err) {
      throw this.wrap(op, err);
    } finally {
      clearTimeout(timer);
    }
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
