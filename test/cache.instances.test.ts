// Several gateway instances on one database: a key change made through one instance reaches the
// others' caches through NOTIFY, so none keeps serving a state the key has left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { newApp } from '../src/http/app.ts';
import { newLogger } from '../src/log.ts';
import { openRuntime, type Runtime } from '../src/services.ts';
import { b64, callApp, startGateway, type TestGateway } from './support/gateway.ts';

let a: TestGateway;
let b: Runtime;
let callB: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

beforeAll(async () => {
  a = await startGateway();
  // A second instance: its own runtime and cache on the same database and keyring.
  b = await openRuntime(loadConfig({ KMSGW_DATA_DIR: a.dataDir, LOG_LEVEL: 'silent' }), newLogger('silent'), a.database);
  const app = newApp(b.services);
  callB = (method, path, body) => callApp(app, a.secret, method, path, body);
});
afterAll(async () => {
  await b.cache.stop();
  await a.close();
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached within 2 s');
}

describe('cache across instances', () => {
  it('a key suspended through one instance stops encrypting on the other, which had it cached', async () => {
    const key = (await a.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    expect((await callB('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') })).status).toBe(200);
    await a.call('POST', `/v1/keys/${key}/suspend`);
    await eventually(async () => (await callB('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') })).status === 409);
  });

  it('a rotation through one instance makes the other encrypt under the new version', async () => {
    const key = (await a.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    expect((await callB('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') })).body.version).toBe(1);
    await a.call('POST', `/v1/keys/${key}/rotate`);
    await eventually(async () => (await callB('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') })).body.version === 2);
  });

  it('an alias moved away through one instance no longer resolves on the other', async () => {
    const key = (await a.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', aliases: ['moving'] })).body.id;
    expect((await callB('POST', '/v1/keys/alias/moving/encrypt', { plaintext: b64('x') })).body.keyId).toBe(key);
    await a.call('DELETE', `/v1/keys/${key}/aliases/moving`);
    await eventually(async () => (await callB('POST', '/v1/keys/alias/moving/encrypt', { plaintext: b64('x') })).status === 404);
  });
});
