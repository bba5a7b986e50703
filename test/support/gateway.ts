// A real gateway for tests: a fresh database (a new PostgreSQL database per test file, or an
// in-memory PGlite), the local provider with its own keyring, and the Hono app called in-process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { newApp, type App } from '../../src/http/app.ts';
import { newLogger } from '../../src/log.ts';
import { openRuntime, type Runtime } from '../../src/services.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { insertPolicyVersion } from '../../src/db/queries/policies.ts';
import { POLICY_CHANNEL } from '../../src/policy/access.ts';
import { listJobs } from '../../src/db/queries/jobs.ts';
import { SYNC } from '../../src/replicas/sync.ts';
import type { JobRow } from '../../src/db/schema/index.ts';

export interface TestGateway {
  app: App;
  /** The secret of the key every call uses unless it passes its own Authorization header ('' for none). */
  secret: string;
  principal: string;
  /** A new API key with these roles and groups; returns its principal id and secret. */
  apiKey(roles: string[], groups?: string[], expiresAt?: Date): Promise<{ principal: string; secret: string }>;
  /** Puts an access policy in force, as the policy API would. */
  policy(id: string, text: string): Promise<void>;
  runtime: Runtime;
  database: Database;
  /** The PostgreSQL URL of the test's database; none on PGlite. */
  databaseUrl?: string;
  dataDir: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Puts a key straight into a state, to test what the state allows regardless of how it got there. */
  forceState(keyId: string, state: string, extra?: string): Promise<void>;
  /** Works jobs from now on, and waits for the key's latest sync job to finish: what its backend keys follow has reached them. */
  synced(keyId: string): Promise<JobRow>;
  close(): Promise<void>;
}

export interface Reply { status: number; body: any; headers: Headers }

async function freshDatabase(): Promise<{ database: Database; url?: string; drop(): Promise<void> }> {
  if (process.env.KMSGW_TEST_DB !== 'postgres') return { database: await openDatabase({ pglite: 'memory://' }), drop: async () => {} };
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('KMSGW_TEST_DB=postgres needs DATABASE_URL');
  const name = `kmsgw_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString() }, { maxConnections: 5 });
  return {
    database,
    url: u.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export async function startGateway(options: { maxBodyBytes?: number; config?: Record<string, unknown> } = {}): Promise<TestGateway> {
  const { database, url: databaseUrl, drop } = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-test-'));
  let configFile: string | undefined;
  if (options.config) {
    configFile = join(dataDir, 'config.yaml');
    writeFileSync(configFile, stringify(options.config));
  }
  const config = loadConfig({ KMSGW_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(configFile && { KMSGW_CONFIG: configFile }) });
  const runtime = await openRuntime(config, newLogger('silent'), database);
  const app = newApp(runtime.services, { maxBodyBytes: options.maxBodyBytes ?? config.maxBodyBytes });
  const apiKey = async (roles: string[], groups: string[] = [], expiresAt?: Date) => {
    const { row, secret } = await createApiKey(database.db, { name: `test ${roles.join('+')}`, roles, groups, expiresAt, createdBy: 'test' });
    return { principal: row.id, secret };
  };
  const policy = async (id: string, text: string) => {
    await insertPolicyVersion(database.db, { id, kind: 'policy', description: 'test', text, createdBy: 'test' }, POLICY_CHANNEL);
    await runtime.services.access.reload();
  };
  // The suite's own principal: an administrator that a test policy also lets use every key, so
  // that tests of other things need not set up grants. Policy tests make their own principals.
  const tester = await apiKey(['administrator']);
  await policy('test-uses-every-key', `@id("test-uses-every-key")\npermit (principal == KmsGw::Principal::"${tester.principal}", action, resource);`);
  return {
    app, runtime, database, databaseUrl, dataDir, secret: tester.secret, principal: tester.principal, apiKey, policy,
    call: (method, path, body, headers) => callApp(app, tester.secret, method, path, body, headers),
    async synced(keyId) {
      await runtime.jobs.start();
      for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
        const [job] = await listJobs(database.db, { kind: SYNC, target: keyId }, 1);
        if (job?.status === 'SUCCEEDED' || job?.status === 'FAILED') return job;
      }
      throw new Error(`the sync job of key ${keyId} did not finish in 60 s`);
    },
    async forceState(keyId, state, extra = '') {
      await database.db.execute(sql.raw(`update keys set state = '${state}'${extra} where id = '${keyId}'`));
      runtime.cache.invalidate(keyId);
    },
    async close() {
      await runtime.close();
      await drop();
    },
  };
}

/** A request to `app` as a real client makes it, with `secret`'s API key; the body JSON (a string is sent as it is). */
export async function callApp(app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, secret: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...(body !== undefined && { 'content-type': 'application/json' }), authorization: `Bearer ${secret}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    // As a real client does: the gateway judges bodies by their declared length (RFC 9112 §6.3).
    (init.headers as Record<string, string>)['content-length'] ??= String(Buffer.byteLength(init.body as string));
  }
  const res = await app.request(path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
