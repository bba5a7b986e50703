// Idempotency-Key: a retried create never makes a second key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

const body = { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { purpose: 'idem' } };
const keysTagged = async (v: string) => (await gw.call('GET', `/v1/keys?tag=purpose:${v}`)).body.keys.length;

describe('Idempotency-Key', () => {
  it('a retried create replays the first response and creates one key', async () => {
    const first = await gw.call('POST', '/v1/keys', body, { 'Idempotency-Key': 'create-1' });
    const retry = await gw.call('POST', '/v1/keys', body, { 'Idempotency-Key': 'create-1' });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await keysTagged('idem')).toBe(1);
  });

  it('concurrent creates with one key make one key', async () => {
    const b = { ...body, tags: { purpose: 'idem-race' } };
    const replies = await Promise.all(Array.from({ length: 8 }, () => gw.call('POST', '/v1/keys', b, { 'Idempotency-Key': 'race' })));
    const created = replies.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of replies.filter((x) => x.status !== 201)) expect(r.status).toBe(409);
    expect(await keysTagged('idem-race')).toBe(1);
  });

  it('reusing a key with a different body is 422 and creates nothing', async () => {
    await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'idem-a' } }, { 'Idempotency-Key': 'reuse' });
    const res = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'idem-b' } }, { 'Idempotency-Key': 'reuse' });
    expect(res.status).toBe(422);
    expect(await keysTagged('idem-b')).toBe(0);
  });

  it('a create that failed may be retried with the same key', async () => {
    const bad = await gw.call('POST', '/v1/keys', { ...body, connection: 'nowhere' }, { 'Idempotency-Key': 'fails' });
    expect(bad.status).toBe(400);
    const again = await gw.call('POST', '/v1/keys', { ...body, connection: 'nowhere' }, { 'Idempotency-Key': 'fails' });
    expect(again.status).toBe(400);
  });

  it('a retried rotate adds one version', async () => {
    const k = (await gw.call('POST', '/v1/keys', body)).body;
    await gw.call('POST', `/v1/keys/${k.id}/rotate`, undefined, { 'Idempotency-Key': 'rot' });
    const again = await gw.call('POST', `/v1/keys/${k.id}/rotate`, undefined, { 'Idempotency-Key': 'rot' });
    expect(again.body.currentVersion).toBe(2);
  });
});

describe('Idempotency-Key lifetime', () => {
  it('a record older than a day is forgotten by the sweep, so the key may be used again', async () => {
    const { sweepOnce } = await import('../src/jobs/lifecycle-sweep.ts');
    const { newLogger } = await import('../src/log.ts');
    const first = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'ttl' } }, { 'Idempotency-Key': 'ttl' });
    await sweepOnce(gw.database.db, gw.runtime.services.keys, newLogger('silent'), new Date(Date.now() + 25 * 3_600_000));
    const again = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'ttl' } }, { 'Idempotency-Key': 'ttl' });
    expect(again.body.id).not.toBe(first.body.id);
  });
});

describe('Idempotency-Key claims', () => {
  // A claim as a request with the same body would have left it: same key, same request hash.
  const claim = async (key: string, purpose: string, age: string) => {
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(JSON.stringify({ ...body, tags: { purpose } })).digest('base64');
    await gw.database.db.execute(`insert into idempotency_keys (key, request_hash, created_at) values ('${gw.principal}\ncreateKey\n${key}', '${hash}', now() - interval '${age}')` as never);
  };

  it('a claim still in progress answers 409 with Retry-After and creates nothing', async () => {
    await claim('busy', 'busy', '1 second');
    const res = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'busy' } }, { 'Idempotency-Key': 'busy' });
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await keysTagged('busy')).toBe(0);
  });

  it('a claim left unfinished by a request that died is taken over once it is older than any request lives', async () => {
    await claim('orphan', 'orphan', '10 minutes');
    const res = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'orphan' } }, { 'Idempotency-Key': 'orphan' });
    expect(res.status).toBe(201);
    const again = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'orphan' } }, { 'Idempotency-Key': 'orphan' });
    expect(again.body.id).toBe(res.body.id);
    expect(await keysTagged('orphan')).toBe(1);
  });

  it('the record is completed in the key\'s own transaction: a replay shows the key as it is now', async () => {
    const first = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'now' } }, { 'Idempotency-Key': 'now' });
    await gw.call('PATCH', `/v1/keys/${first.body.id}`, { description: 'changed since' });
    const replay = await gw.call('POST', '/v1/keys', { ...body, tags: { purpose: 'now' } }, { 'Idempotency-Key': 'now' });
    expect(replay.body).toMatchObject({ id: first.body.id, description: 'changed since' });
  });
});
