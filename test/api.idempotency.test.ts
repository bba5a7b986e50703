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
