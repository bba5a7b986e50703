// Usage statistics per key (how often each operation, when last) and per connection by the hour.
// The hot path only bumps counters in memory; a timer writes them in one batch, so no crypto call
// waits on them. A crash loses at most one interval's counts: the audit trail still has each call.
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { addUsage, type HourCount, type KeyCount } from '../db/queries/usage.ts';

/** The operations that use a key's material: what "last used" means. */
const USES = new Set(['encrypt', 'decrypt', 'reencrypt', 'generateDataKey', 'sign', 'verify', 'generateMac', 'verifyMac', 'wrapKey', 'unwrapKey', 'getPublicKey']);
const HOUR = 3_600_000;

export class UsageRecorder {
  private perKey = new Map<string, KeyCount>();
  private perHour = new Map<string, HourCount>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(private readonly db: Db, private readonly logger: Logger, private readonly intervalMs = 5_000) {}

  /** Counts one successful operation on a key; anything but a use of its material is ignored. */
  record(operation: string, keyId: string, connection: string, at = new Date()): void {
    if (!USES.has(operation)) return;
    add(this.perKey, `${keyId} ${operation}`, { keyId, operation, count: 1, lastUsedAt: at });
    const hour = new Date(Math.floor(at.getTime() / HOUR) * HOUR);
    add(this.perHour, `${hour.getTime()} ${connection} ${operation}`, { hour, connection, operation, count: 1 });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what was counted since the last flush; counts that fail to write are kept for the next. */
  async flush(): Promise<void> {
    await this.flushing;
    if (this.perKey.size === 0 && this.perHour.size === 0) return;
    const perKey = this.perKey;
    const perHour = this.perHour;
    this.perKey = new Map();
    this.perHour = new Map();
    this.flushing = this.db.transaction((tx) => addUsage(tx, [...perKey.values()], [...perHour.values()]))
      .catch((err) => {
        this.logger.warn({ err }, 'usage statistics not written; kept for the next flush');
        for (const [k, v] of perKey) add(this.perKey, k, v);
        for (const [k, v] of perHour) add(this.perHour, k, v);
      })
      .finally(() => { this.flushing = undefined; });
    await this.flushing;
  }

}

/** Adds a count into a batch: counts add up, the last use is the later one. */
function add<T extends { count: number; lastUsedAt?: Date }>(into: Map<string, T>, k: string, v: T): void {
  const known = into.get(k);
  if (!known) into.set(k, v);
  else {
    known.count += v.count;
    if (v.lastUsedAt && known.lastUsedAt && v.lastUsedAt > known.lastUsedAt) known.lastUsedAt = v.lastUsedAt;
  }
}
