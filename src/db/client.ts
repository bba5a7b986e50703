// Opens the one database: PostgreSQL through postgres.js when a URL is given, embedded PGlite in the
// data directory otherwise. Migrations are applied on open, under an advisory lock on PostgreSQL
// so that several instances starting together migrate once.
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import postgres from 'postgres';
import { PGlite, types, type ParserOptions, type Transaction } from '@electric-sql/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema/index.ts';
import { DatabaseInUse } from './in-use.ts';
import { Listener } from './listen.ts';

export type Schema = typeof schema;
/** A database or a transaction: every query function takes either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /**
   * Subscribes to NOTIFY on `channel`; returns the unsubscribe function. `onMissed`: notifications
   * may have been lost (the listening connection was down a while), so what they keep fresh is not.
   */
  listen(channel: string, onPayload: (payload: string) => void, onMissed: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** NOTIFY `channel` when the transaction `db` runs in commits (at once outside one); the other half of `listen`. */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${channel}, ${payload})`);
}

/** The rows of a raw `db.execute`: postgres.js answers an array of them, PGlite an object holding them. */
export async function executeRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = await db.execute(query);
  return (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as T[];
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
const MIGRATION_LOCK = 7_343_201; // arbitrary, fixed: the advisory lock id for migrations

export type DatabaseTarget = { url: string } | { pglite: string };

/** PostgreSQL when a URL is configured, else the embedded PGlite in the data directory. */
export const databaseTarget = (config: { databaseUrl?: string; dataDir: string }): DatabaseTarget =>
  (config.databaseUrl ? { url: config.databaseUrl } : { pglite: join(config.dataDir, 'pglite') });

/** How long to wait for the embedded database while another process holds it (the gateway restarting after a crash), told when waiting starts. */
export interface LockWait { ms?: number; onWait?: () => void }

export async function openDatabase(target: DatabaseTarget, options: { maxConnections?: number; lockWait?: LockWait } = {}): Promise<Database> {
  return 'url' in target ? openPostgres(target.url, options.maxConnections ?? 10) : openPglite(target.pglite, options.lockWait ?? {});
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const lockClient = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await lockClient`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder });
    await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await lockClient.end();
  }
  const client = postgres(url, { max, onnotice: () => {} });
  const listener = new Listener(url);
  return {
    db: drizzlePostgres(client, { schema }) as unknown as Db,
    kind: 'postgres',
    listen: (channel, onPayload, onMissed) => listener.subscribe(channel, { onPayload, onMissed }),
    async close() {
      await listener.end();
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * The parsers drizzle passes with every PGlite query (drizzle-orm/pglite/session.js): timestamps,
 * dates, intervals and their arrays, and numeric arrays stay text, for drizzle's columns to map.
 */
const DRIZZLE_PARSERS: ParserOptions = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [oid, (text: string) => text]),
);

/**
 * PGlite merges a query's own parsers into its ~320 defaults on every query, an object spread that
 * costs about 80 µs (as much as a small query itself), and drizzle sends the same parsers with every
 * query. They are set once on the instance instead (DRIZZLE_PARSERS), and drizzle's queries reach
 * PGlite without them, in transactions too: the rows come out the same.
 */
function withoutQueryParsers(client: PGlite): PGlite {
  const query = (target: Pick<Transaction, 'query'>): Transaction['query'] =>
    (text, params, options) => target.query(text, params, options && { ...options, parsers: undefined });
  return Object.create(client, {
    query: { value: query(client) },
    transaction: { value: <T>(fn: (tx: Transaction) => Promise<T>) => client.transaction((tx) => fn(Object.create(tx, { query: { value: query(tx) } }))) },
  });
}

/**
 * PGlite is a whole PostgreSQL inside this process, over files no other process may write: a second
 * process (another gateway, an operator command while the gateway runs) would work on a copy of its
 * own, and lose what it writes or corrupt the files. So the data directory is locked while open.
 * The holder keeps the lock fresh; a lock whose process died is taken over once 20 s stale.
 */
async function lockDataDir(dir: string, wait: LockWait): Promise<() => Promise<void>> {
  // Undefined while another process holds it.
  const lock = (retries: number) => lockfile.lock(dir, { stale: 20_000, update: 5_000, retries: { retries, factor: 1, minTimeout: 1000, maxTimeout: 1000 } })
    .catch((err: NodeJS.ErrnoException) => { if (err.code === 'ELOCKED') return undefined; throw err; });
  let release = await lock(0);
  if (!release && wait.ms) {
    wait.onWait?.();
    release = await lock(Math.ceil(wait.ms / 1000));
  }
  if (!release) {
    throw new DatabaseInUse(`the embedded database in ${dir} is open in another process (a running gateway, or another kmsgw command), `
      + 'and it admits one at a time: stop that process, or use the gateway\'s API. A lock left by a process that died is taken over 20 s after.');
  }
  return release;
}

async function openPglite(dir: string, lockWait: LockWait): Promise<Database> {
  const inMemory = dir.startsWith('memory://');
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const unlock = inMemory ? async () => {} : await lockDataDir(dir, lockWait);
  const client = await PGlite.create(dir).catch(async (err: unknown) => { await unlock(); throw err; });
  // After create: PGlite sets its array parsers while it starts, over any given to the constructor.
  Object.assign(client.parsers, DRIZZLE_PARSERS);
  const db = drizzlePglite({ client: withoutQueryParsers(client), schema });
  await migratePglite(db, { migrationsFolder });
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    // One process: no connection to lose, so no notification is ever missed.
    listen: (channel, onPayload) => client.listen(channel, onPayload),
    async close() {
      await client.close();
      await unlock();
    },
  };
}
