// Key management through the API: create, get by id and alias, list with filters and cursors,
// update, aliases, rotation, versions and history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpecs, specInfo } from '../src/keys/specs.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

describe('create', () => {
  it.each([...keySpecs])('creates a %s key with every usage its spec allows', async (spec) => {
    for (const usage of specInfo[spec].usages) {
      const res = await gw.call('POST', '/v1/keys', { spec, usage });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ spec, usage, state: 'ACTIVE', currentVersion: 1, origin: 'GATEWAY' });
      expect(res.body.bindings).toEqual([expect.objectContaining({ connection: 'local', provider: 'local', role: 'primary' })]);
    }
  });

  it('records description, tags, aliases, rotation and the KMIP attributes', async () => {
    const res = await gw.call('POST', '/v1/keys', {
      spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', description: 'orders', tags: { owner: 'payments', env: 'prod' },
      aliases: ['orders-key', 'orders.v2'], rotationPeriodDays: 90,
    });
    expect(res.body).toMatchObject({
      description: 'orders', tags: { owner: 'payments', env: 'prod' }, aliases: ['orders-key', 'orders.v2'], rotationPeriodDays: 90,
      attributes: { extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true },
    });
    expect(Date.parse(res.body.nextRotationAt) - Date.now()).toBeGreaterThan(89 * 86_400_000);
  });

  it('an exportable key is extractable but never in the clear (sensitive)', async () => {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true });
    expect(res.body.attributes).toEqual({ extractable: true, neverExtractable: false, sensitive: true, alwaysSensitive: true });
  });
});

describe('read and list', () => {
  it('gets a key by id and by alias', async () => {
    const created = (await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC', aliases: ['by-alias'] })).body;
    expect((await gw.call('GET', `/v1/keys/${created.id}`)).body.id).toBe(created.id);
    expect((await gw.call('GET', '/v1/keys/alias/by-alias')).body.id).toBe(created.id);
    expect((await gw.call('GET', '/v1/keys/alias%2Fby-alias')).body.id).toBe(created.id);
  });

  it('filters by state, spec, tag and alias, and pages with a cursor through every match once', async () => {
    const mark = `run-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await gw.call('POST', '/v1/keys', { spec: 'EC_P384', usage: 'SIGN_VERIFY', tags: { batch: mark, n: String(i % 2) } })).body.id);
    await gw.call('POST', `/v1/keys/${ids[0]}/suspend`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { keys: { id: string }[]; nextCursor: string | null } } = await gw.call('GET', `/v1/keys?tag=batch:${mark}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.body.keys.map((k) => k.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const odd = (await gw.call('GET', `/v1/keys?tag=batch:${mark}&tag=n:1`)).body.keys.map((k: { id: string }) => k.id);
    expect(odd).toEqual([ids[1], ids[3], ids[5]]);
    expect((await gw.call('GET', `/v1/keys?tag=batch:${mark}&state=SUSPENDED`)).body.keys.map((k: { id: string }) => k.id)).toEqual([ids[0]]);
    expect((await gw.call('GET', `/v1/keys?tag=batch:${mark}&spec=AES_256`)).body.keys).toEqual([]);
    await gw.call('POST', `/v1/keys/${ids[2]}/aliases`, { name: `${mark}-a` });
    expect((await gw.call('GET', `/v1/keys?alias=${mark}-a`)).body.keys.map((k: { id: string }) => k.id)).toEqual([ids[2]]);
  });
});

describe('update and aliases', () => {
  it('merges tags (null removes) and replaces the description, with a history event', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { a: '1', b: '2' } })).body;
    const res = await gw.call('PATCH', `/v1/keys/${k.id}`, { description: 'new', tags: { b: null, c: '3' } });
    expect(res.body).toMatchObject({ description: 'new', tags: { a: '1', c: '3' } });
    const last = (await gw.call('GET', `/v1/keys/${k.id}/events`)).body.events.at(-1);
    expect(last).toMatchObject({ type: 'UPDATED', detail: { before: { tags: { a: '1', b: '2' } }, after: { tags: { a: '1', c: '3' } } } });
  });

  it('takes the patch as application/merge-patch+json too (RFC 7396)', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { a: '1' } })).body;
    const res = await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { a: null, b: '2' } }, { 'content-type': 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    expect(res.body.tags).toEqual({ b: '2' });
  });

  it('adds and removes aliases; a removed alias no longer resolves', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    expect((await gw.call('POST', `/v1/keys/${k.id}/aliases`, { name: 'temp-name' })).body.aliases).toEqual(['temp-name']);
    expect((await gw.call('GET', '/v1/keys/alias/temp-name')).status).toBe(200);
    expect((await gw.call('DELETE', `/v1/keys/${k.id}/aliases/temp-name`)).status).toBe(204);
    expect((await gw.call('GET', '/v1/keys/alias/temp-name')).status).toBe(404);
  });
});

describe('rotation', () => {
  it('adds a version; new envelopes use it and old ones still decrypt', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', aliases: ['rotating'] })).body;
    const v1 = (await gw.call('POST', '/v1/keys/alias/rotating/encrypt', { plaintext: b64('one') })).body;
    expect((await gw.call('POST', '/v1/keys/alias/rotating/rotate')).body.currentVersion).toBe(2);
    const v2 = (await gw.call('POST', '/v1/keys/alias/rotating/encrypt', { plaintext: b64('two') })).body;
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: v1.ciphertext })).body).toMatchObject({ plaintext: b64('one'), version: 1 });
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: v2.ciphertext })).body).toMatchObject({ plaintext: b64('two'), version: 2 });
    const versions = (await gw.call('GET', `/v1/keys/${k.id}/versions`)).body;
    expect(versions.versions.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([[1, false], [2, true]]);
    const re = (await gw.call('POST', '/v1/reencrypt', { ciphertext: v1.ciphertext })).body;
    expect(re).toMatchObject({ version: 2, sourceVersion: 1 });
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: re.ciphertext })).body.plaintext).toBe(b64('one'));
  });
});

describe('system', () => {
  it('answers health, readiness, the OpenAPI document and the docs page', async () => {
    expect((await gw.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await gw.call('GET', '/readyz')).body).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
    const doc = (await gw.call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/keys', '/v1/keys/{key}/encrypt', '/v1/decrypt', '/v1/keys/{key}/public-key']));
    expect((await gw.call('GET', '/docs')).body).toContain('swagger-ui-bundle.js');
  });
});

describe('concurrent changes', () => {
  it('rotations racing on one key never answer 500: each either rotates or gets 409, and versions stay contiguous', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const replies = await Promise.all(Array.from({ length: 6 }, () => gw.call('POST', `/v1/keys/${k.id}/rotate`)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409), JSON.stringify(replies.map((r) => r.body.detail ?? r.status))).toBe(true);
    const rotated = statuses.filter((s) => s === 200).length;
    const versions = (await gw.call('GET', `/v1/keys/${k.id}/versions`)).body.versions.map((v: { version: number }) => v.version);
    expect(versions).toEqual(Array.from({ length: rotated + 1 }, (_, i) => i + 1));
    const ct = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('after the race') })).body.ciphertext;
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct })).body.plaintext).toBe(b64('after the race'));
  });

  it('tag updates racing on one key each keep their tags, and the history tells each change as it was made', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { [`t${i}`]: 'v' } })));
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(Object.keys((await gw.call('GET', `/v1/keys/${k.id}`)).body.tags).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`).sort());
    const updates = (await gw.call('GET', `/v1/keys/${k.id}/events`)).body.events.filter((e: any) => e.type === 'UPDATED');
    // Each event's "before" is the one before's "after": no change was made from a stale key.
    for (const [i, e] of updates.entries()) expect(Object.keys(e.detail.before.tags)).toHaveLength(i);
  });
});
