// The hot path's key cache: key graphs by id and alias, invalidated across instances by NOTIFY on
// the `kmsgw_keys` channel (sent in the transaction of every key change) and bounded by a TTL as a
// safety net should a notification be missed.
import { KmsError } from '../errors.ts';
import { LruCache } from '../lru.ts';
import type { Database, Db } from '../db/client.ts';
import { findKeyIdByAlias, loadKeyGraphs, type KeyGraph } from '../db/queries/keys.ts';

const KEY_ID = /^key_[0-9a-hjkmnp-tv-z]{26}$/;
export const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Parses a key reference: a key id, or `alias/NAME`. */
export function parseKeyRef(ref: string): { id: string } | { alias: string } {
  if (KEY_ID.test(ref)) return { id: ref };
  if (ref.startsWith('alias/') && ALIAS.test(ref.slice(6))) return { alias: ref.slice(6) };
  throw new KmsError('INVALID_ARGUMENT', `"${ref}" is neither a key id (key_…) nor an alias (alias/NAME)`, { field: 'key' });
}

interface Entry<T> { value: T; expires: number }

export class KeyCache {
  private readonly graphs = new LruCache<string, Entry<KeyGraph>>(10_000);
  private readonly aliases = new LruCache<string, Entry<string>>(10_000);
  private readonly inflight = new Map<string, Promise<KeyGraph>>();
  private unlisten?: () => Promise<void>;

  constructor(private readonly db: Db, private readonly ttlMs = 30_000) {}

  async start(database: Database): Promise<void> {
    this.unlisten = await database.listen('kmsgw_keys', (id) => this.invalidate(id), () => this.clear());
  }

  async stop(): Promise<void> { await this.unlisten?.(); }

  /** The key a reference names, from cache; NOT_FOUND when there is none. */
  async resolve(ref: string): Promise<KeyGraph> {
    const parsed = parseKeyRef(ref);
    const now = Date.now();
    let id: string | undefined;
    if ('id' in parsed) id = parsed.id;
    else {
      const hit = this.aliases.get(parsed.alias);
      id = hit && hit.expires > now ? hit.value : await findKeyIdByAlias(this.db, parsed.alias);
      if (id) this.aliases.set(parsed.alias, { value: id, expires: now + this.ttlMs });
    }
    const graph = id ? await this.load(id, now) : undefined;
    if (!graph) throw new KmsError('NOT_FOUND', `key "${ref}" not found`);
    return graph;
  }

  /** Reads through to the database, for management calls that must see the latest committed state. */
  async fresh(ref: string): Promise<KeyGraph> {
    const parsed = parseKeyRef(ref);
    const id = 'id' in parsed ? parsed.id : await findKeyIdByAlias(this.db, parsed.alias);
    const [graph] = id ? await loadKeyGraphs(this.db, [id]) : [];
    if (!graph) throw new KmsError('NOT_FOUND', `key "${ref}" not found`);
    return graph;
  }

  /** Forgets every key: changes may have been made unseen. */
  clear(): void {
    this.graphs.clear();
    this.aliases.clear();
  }

  invalidate(id: string): void {
    this.graphs.delete(id);
    for (const alias of [...this.aliases.keys()]) if (this.aliases.get(alias)?.value === id) this.aliases.delete(alias);
  }

  private async load(id: string, now: number): Promise<KeyGraph | undefined> {
    const hit = this.graphs.get(id);
    if (hit && hit.expires > now) return hit.value;
    // One query per key however many requests miss at once.
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = loadKeyGraphs(this.db, [id]).then(([g]) => {
        if (!g) throw new KmsError('NOT_FOUND', `key "${id}" not found`);
        this.graphs.set(id, { value: g, expires: Date.now() + this.ttlMs });
        return g;
      }).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending.catch((e) => (e instanceof KmsError && e.code === 'NOT_FOUND' ? undefined : Promise.reject(e)));
  }
}
