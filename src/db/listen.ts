// LISTEN on PostgreSQL that outlasts the database going away. postgres.js's own `listen` re-listens
// once when its connection closes; if the database is still down at that moment (a restart, a
// failover), the channel is dropped without a word, and the instance never hears of a change again:
// policies stay as they were, revoked API keys and changed keys live on in its caches. Here one
// connection listens to every channel; when it closes, it is listened again with back-off until it
// is, and then every subscriber is told that notifications may have been missed meanwhile.
import postgres from 'postgres';

export interface Subscriber {
  onPayload(payload: string): void;
  /** Notifications may have been lost (the connection was down): drop or reload what they keep fresh. */
  onMissed(): void;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

export class Listener {
  private readonly sql: postgres.Sql;
  private readonly channels = new Map<string, Set<Subscriber>>();
  private retryMs = RETRY_FIRST_MS;
  private retry?: NodeJS.Timeout;
  private ended = false;

  constructor(url: string) {
    const onnotify = (channel: string, payload: string) => { for (const s of this.channels.get(channel) ?? []) s.onPayload(payload); };
    // `onnotify` is the option postgres.js's own `listen` uses; its types leave it out.
    this.sql = postgres(url, { max: 1, max_lifetime: null, fetch_types: false, onnotice: () => {}, onclose: () => this.lost(), onnotify } as postgres.Options<Record<string, postgres.PostgresType>>);
  }

  async subscribe(channel: string, subscriber: Subscriber): Promise<() => Promise<void>> {
    let subscribers = this.channels.get(channel);
    if (!subscribers) {
      this.channels.set(channel, subscribers = new Set());
      await this.sql.unsafe(`listen ${quote(channel)}`).catch((err: unknown) => {
        this.channels.delete(channel);
        throw err;
      });
    }
    subscribers.add(subscriber);
    return async () => {
      subscribers.delete(subscriber);
      if (subscribers.size > 0 || this.channels.get(channel) !== subscribers) return;
      this.channels.delete(channel);
      if (!this.ended) await this.sql.unsafe(`unlisten ${quote(channel)}`).catch(() => {});
    };
  }

  async end(): Promise<void> {
    this.ended = true;
    clearTimeout(this.retry);
    await this.sql.end({ timeout: 5 });
  }

  /** The listening connection closed: its LISTENs are gone with it. */
  private lost(): void {
    if (this.ended || this.retry || this.channels.size === 0) return;
    this.retry = setTimeout(() => void this.relisten(), this.retryMs);
  }

  private async relisten(): Promise<void> {
    try {
      for (const channel of this.channels.keys()) await this.sql.unsafe(`listen ${quote(channel)}`);
    } catch {
      // Still down: try again later, less often.
      this.retry = undefined;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.lost();
      return;
    }
    this.retry = undefined;
    this.retryMs = RETRY_FIRST_MS;
    for (const subscribers of this.channels.values()) for (const s of subscribers) s.onMissed();
  }
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
