// API keys: `kmsgw_` and 256 random bits in base64url. The gateway keeps only their SHA-256 and
// finds a presented key by it; verified keys are cached briefly, dropped at once on every instance
// when one is revoked (NOTIFY), and their last use is written at most once a minute per key, off
// the request's path.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { random } from '../crypto/random.ts';
import { needs } from '../errors.ts';
import { newId } from '../ids.ts';
import { LruCache } from '../lru.ts';
import type { Database, Db } from '../db/client.ts';
import { API_KEY_CHANNEL, countLiveApiKeys, findApiKeyByHash, insertApiKey, revokeApiKey, touchApiKey, type ApiKeyRow } from '../db/queries/api-keys.ts';
import { ROLES, type Identity } from './identity.ts';

const PREFIX = 'kmsgw_';
const SECRET = /^kmsgw_[A-Za-z0-9_-]{43}$/;
const CACHE_MS = 30_000;
const TOUCH_MS = 60_000;
const BOOTSTRAP_LOCK = 7_343_203; // arbitrary, fixed: the advisory lock id of the first key's creation
/** Break-glass credentials are time-bound: at most this long from creation. */
export const BREAK_GLASS_MAX_HOURS = 24;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const looksLikeApiKey = (token: string) => token.startsWith(PREFIX);

export interface NewApiKey { name: string; roles: string[]; groups?: string[]; expiresAt?: Date; createdBy: string }

/** Checks a request for a new key: known roles, and break-glass only with a near expiry. */
export function checkNewApiKey(input: NewApiKey, now = new Date()): void {
  for (const role of input.roles) needs((ROLES as readonly string[]).includes(role), 'INVALID_ARGUMENT', `unknown role "${role}"; roles are ${ROLES.join(', ')}`, { field: 'roles' });
  needs(!input.expiresAt || input.expiresAt > now, 'INVALID_ARGUMENT', 'expiresAt must be in the future', { field: 'expiresAt' });
  if (input.roles.includes('break-glass')) {
    needs(input.expiresAt && input.expiresAt.getTime() - now.getTime() <= BREAK_GLASS_MAX_HOURS * 3_600_000, 'INVALID_ARGUMENT',
      `a break-glass key must expire within ${BREAK_GLASS_MAX_HOURS} hours`, { field: 'expiresAt' });
  }
}

/** Makes a key; the secret is returned here and never again. */
export async function createApiKey(db: Db, input: NewApiKey, secret = `${PREFIX}${random(32).toString('base64url')}`): Promise<{ row: ApiKeyRow; secret: string }> {
  checkNewApiKey(input);
  needs(SECRET.test(secret), 'INVALID_ARGUMENT', 'an API key is "kmsgw_" and 43 base64url characters (256 bits)');
  const row = await insertApiKey(db, {
    id: newId('ak'), name: input.name, secretHash: hashSecret(secret), hint: secret.slice(0, PREFIX.length + 4),
    roles: input.roles, groups: input.groups ?? [], createdBy: input.createdBy, expiresAt: input.expiresAt ?? null,
  });
  return { row, secret };
}

/**
 * On a database with no live API key, makes the first administrator key: from `preset`
 * (KMSGW_BOOTSTRAP_ADMIN_KEY) when given, else a new one, whose secret is returned to be shown once.
 */
export async function bootstrapAdminKey(db: Db, preset?: string): Promise<string | undefined> {
  // Under a lock: instances starting together on an empty database make one key, not one each.
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    if ((await countLiveApiKeys(tx)) > 0) return undefined;
    const { secret } = await createApiKey(tx, { name: 'bootstrap administrator', roles: ['administrator'], createdBy: 'system:bootstrap' }, preset);
    return preset ? undefined : secret;
  });
}

interface Entry { identity: Identity; id: string; expiresAt: number | null; cachedUntil: number }

export class ApiKeyAuthenticator {
  private readonly cache = new LruCache<string, Entry>(10_000);
  private readonly touched = new Map<string, number>();
  private unlisten?: () => Promise<void>;

  constructor(private readonly db: Db, private readonly logger: Logger) {}

  async start(database: Database): Promise<void> {
    this.unlisten = await database.listen(API_KEY_CHANNEL, (hash) => this.cache.delete(hash), () => this.cache.clear());
  }

  async stop(): Promise<void> { await this.unlisten?.(); }

  /**
   * Revokes a key; this instance forgets it before answering (the others on NOTIFY), so the
   * revoker's next request with it is refused here without waiting for the notification.
   */
  async revoke(id: string): Promise<ApiKeyRow | undefined> {
    const row = await revokeApiKey(this.db, id);
    if (row) this.cache.delete(row.secretHash);
    return row;
  }

  /** The identity of a presented key, or undefined when it is unknown, revoked or expired. */
  async authenticate(secret: string): Promise<Identity | undefined> {
    if (!SECRET.test(secret)) return undefined;
    const hash = hashSecret(secret);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.cachedUntil <= now) {
      const row = await findApiKeyByHash(this.db, hash);
      if (!row || row.revokedAt) {
        this.cache.delete(hash);
        return undefined;
      }
      entry = {
        id: row.id, expiresAt: row.expiresAt?.getTime() ?? null, cachedUntil: now + CACHE_MS,
        identity: { principal: row.id, name: row.name, authMethod: 'api-key', roles: row.roles, groups: row.groups, ...(row.expiresAt && { validUntil: row.expiresAt }) },
      };
      this.cache.set(hash, entry);
    }
    if (entry.expiresAt !== null && entry.expiresAt <= now) return undefined;
    this.touch(entry.id, now);
    return entry.identity;
  }

  private touch(id: string, now: number): void {
    if ((this.touched.get(id) ?? 0) > now - TOUCH_MS) return;
    this.touched.set(id, now);
    touchApiKey(this.db, id, new Date(now)).catch((err: unknown) => this.logger.warn({ err, apiKey: id }, 'could not record an API key\'s last use'));
  }
}
