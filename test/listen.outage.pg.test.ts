// Another instance's changes reach this one through NOTIFY. When the listening connection is lost
// while the database refuses connections (a restart, a failover), the notifications sent meanwhile
// are lost: once the database is back, the instance listens again and reloads what they keep fresh,
// instead of going deaf (postgres.js alone drops a channel whose re-listen fails).
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { newApp } from '../src/http/app.ts';
import { newLogger } from '../src/log.ts';
import { openRuntime, type Runtime } from '../src/services.ts';
import { b64, callApp, startGateway, type TestGateway } from './support/gateway.ts';

let a: TestGateway;
let b: Runtime;
let callB: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
let admin: postgres.Sql;
let name: string;

beforeAll(async () => {
  a = await startGateway();
  // A second instance with a database connection, and so a listening connection, of its own.
  b = await openRuntime(loadConfig({ KMSGW_DATA_DIR: a.dataDir, LOG_LEVEL: 'silent' }), newLogger('silent'), await openDatabase({ url: a.databaseUrl! }, { maxConnections: 3 }));
  const app = newApp(b.services);
  callB = (method, path, body) => callApp(app, a.secret, method, path, body);
  admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  name = new URL(a.databaseUrl!).pathname.slice(1);
});
afterAll(async () => {
  await admin.unsafe(`alter database "${name}" allow_connections true`);
  await admin.end();
  await b.close();
  await a.close();
});

async function eventually(check: () => Promise<boolean>, seconds: number): Promise<void> {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (await check()) return;
  }
  throw new Error(`condition not reached within ${seconds} s`);
}

describe('listening through a database outage', () => {
  it('a policy put in force while the other instance could not listen is in force there once the database is back', async () => {
    const key = (await a.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    const encryptOnB = async () => (await callB('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') })).status;
    expect(await encryptOnB()).toBe(200);
    // The outage: no new connection to the database, and the listening ones cut.
    await admin.unsafe(`alter database "${name}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and query ilike 'listen%'`;
    const policy = '@id("freeze-encrypt")\nforbid (principal, action == KmsGw::Action::"encrypt", resource);';
    expect((await a.call('PUT', '/v1/policies/freeze-encrypt', { text: policy })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await encryptOnB()).toBe(200); // not heard of yet
    await admin.unsafe(`alter database "${name}" allow_connections true`);
    await eventually(async () => (await encryptOnB()) === 403, 15);
  });
});
