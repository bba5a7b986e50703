// Replicas and failover: a key whose primary lives in AWS KMS (the msw wire fixture) with an
// independent replica key on the local keystore. Every envelope carries the DEK wrapped under
// both, so when AWS goes away decrypt continues on the replica and encrypt keeps working.
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsKmsFixture } from './fixtures/aws-kms.ts';
import { decodeEnvelope } from '../src/crypto/envelope.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { finished } from './support/inventory.ts';

const endpoint = 'https://kms.eu-west-1.amazonaws.com';
const westEndpoint = 'https://kms.us-west-2.amazonaws.com';
const server = setupServer(awsKmsFixture(endpoint, 'eu-west-1').handler, awsKmsFixture(westEndpoint, 'us-west-2').handler);
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
const outage = (at = endpoint) => server.use(http.post(`${at}/`, () => HttpResponse.error()));

let gw: TestGateway;
beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region: 'eu-west-1', endpoint, timeoutMs: 500, deadlineMs: 1_000 },
    { name: 'local-b', provider: 'local' },
    // Its own circuit breaker: the failover test leaves the first one open for a while, as it should.
    { name: 'aws-solo', provider: 'aws', region: 'eu-west-1', endpoint, timeoutMs: 500, deadlineMs: 1_000 },
    { name: 'aws-replica', provider: 'aws', region: 'eu-west-1', endpoint, timeoutMs: 500, deadlineMs: 1_000 },
    { name: 'aws-repair', provider: 'aws', region: 'eu-west-1', endpoint, timeoutMs: 500, deadlineMs: 1_000 },
    { name: 'aws-west', provider: 'aws', region: 'us-west-2', endpoint: westEndpoint, timeoutMs: 500, deadlineMs: 1_000 },
  ] } });
});
afterAll(async () => { await gw?.close(); server.close(); });

const create = async (body: Record<string, unknown>) => gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', ...body });

describe('replicas', () => {
  it('a key made with a replica has a primary and a replica binding, and rotation versions both', async () => {
    const k = (await create({ connection: 'aws', replicas: ['local'] })).body;
    expect(k.bindings.map((b: { connection: string; role: string }) => `${b.role}:${b.connection}`)).toEqual(['primary:aws', 'replica:local']);
    await gw.call('POST', `/v1/keys/${k.id}/rotate`);
    const versions = (await gw.call('GET', `/v1/keys/${k.id}/versions`)).body;
    expect(JSON.stringify(versions)).toContain('"version":2');
  });

  it('replicas are refused for signing keys, for the primary\'s own connection, twice, or for an unknown connection', async () => {
    expect((await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws', replicas: ['local'] })).body).toMatchObject({ status: 400, field: 'replicas' });
    expect((await create({ connection: 'aws', replicas: ['aws'] })).body).toMatchObject({ status: 400, field: 'replicas' });
    expect((await create({ connection: 'aws', replicas: ['local', 'local'] })).body).toMatchObject({ status: 400, field: 'replicas' });
    expect((await create({ connection: 'aws', replicas: ['nowhere'] })).status).toBe(400);
  });

  it('a rotation while a replica\'s connection is down succeeds; the replica is behind until the sync job (or the next rotation) makes its version', async () => {
    const k = (await create({ connection: 'local', replicas: ['aws-replica'] })).body;
    const rotateDuringOutage = async () => {
      outage();
      try {
        return await gw.call('POST', `/v1/keys/${k.id}/rotate`);
      } finally {
        server.resetHandlers();
      }
    };
    const statuses = async () => (await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings.map((b: any) => `${b.connection}:${b.syncStatus}`);
    const degraded = async () => (await gw.call('GET', '/v1/keys?replicas=degraded&limit=1000')).body.keys.some((x: { id: string }) => x.id === k.id);
    const wrapsOfNewEnvelope = async () => {
      const sealed = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: sealed })).body.plaintext).toBe(b64('x'));
      return decodeEnvelope(Buffer.from(sealed, 'base64')).wraps.length;
    };

    const rotated = await rotateDuringOutage();
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(await statuses()).toEqual(['local:in_sync', 'aws-replica:behind']);
    expect(await degraded()).toBe(true);
    const history = (await gw.call('GET', `/v1/keys/${k.id}/events`)).body.events;
    expect(history.at(-1)).toMatchObject({ type: 'ROTATED', detail: { version: 2, behind: ['aws-replica'] } });
    // While behind, envelopes carry the primary's wrap only, and still open.
    expect(await wrapsOfNewEnvelope()).toBe(1);

    // A rotation with the connection back makes the version on both: the replica is in sync again.
    expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    expect(await statuses()).toEqual(['local:in_sync', 'aws-replica:in_sync']);
    expect(await degraded()).toBe(false);
    expect(await wrapsOfNewEnvelope()).toBe(2);

    // Behind once more; the job queued by the first rotation (joined by this one) makes version 4 on the replica.
    expect((await rotateDuringOutage()).status).toBe(200);
    expect(await statuses()).toEqual(['local:in_sync', 'aws-replica:behind']);
    const jobs = (await gw.call('GET', `/v1/jobs?kind=sync&target=${k.id}`)).body.jobs;
    expect(jobs).toMatchObject([{ kind: 'sync', target: k.id, status: 'QUEUED' }]);
    await gw.runtime.jobs.start();
    // The envelope sealed under version 2 while the replica was behind can never get its wrap: the replica made version 3 next, never 2.
    const job = await finished(gw, jobs[0].id);
    expect(job.progress).toEqual({ caughtUp: 1, unrepairable: 1, wrapsAdded: 0 });
    expect(job.notes.at(-1)).toMatch(/\(version 2\) can get no wrap of .*never held the version/);
    expect(await statuses()).toEqual(['local:in_sync', 'aws-replica:in_sync']);
    expect(await wrapsOfNewEnvelope()).toBe(2);
    // Nothing is left to sync: the schedule queues no job.
    expect(await gw.runtime.replicaSync.queueDue('test')).toBe(0);
  });

  it('a replica that cannot be made leaves no key and no provider key behind', async () => {
    const before = (await gw.call('GET', '/v1/keys?limit=100')).body.keys.length;
    server.use(http.post(`${endpoint}/`, () => HttpResponse.json({ __type: 'AccessDeniedException', message: 'denied' }, { status: 400, headers: { 'content-type': 'application/x-amz-json-1.1' } })));
    const res = await create({ connection: 'local', replicas: ['local-b', 'aws'] });
    server.resetHandlers();
    expect(res.status).toBe(403);
    expect((await gw.call('GET', '/v1/keys?limit=100')).body.keys.length).toBe(before);
  });
});

describe('failover', () => {
  it('with AWS gone, 200 envelopes made before all decrypt on the replica, and encrypt keeps working', async () => {
    const k = (await create({ connection: 'aws', replicas: ['local'] })).body;
    const envelopes = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64(`message ${i}`) })).body.ciphertext as string));
    outage();
    try {
      const failures: string[] = [];
      for (const [i, ciphertext] of envelopes.entries()) {
        const res = await gw.call('POST', '/v1/decrypt', { ciphertext });
        if (res.status !== 200 || res.body.plaintext !== b64(`message ${i}`)) failures.push(`${i}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      expect(failures).toEqual([]);
      const circuits = (await gw.call('GET', '/v1/connections')).body.connections.map((c: { name: string; circuit: string }) => `${c.name}:${c.circuit}`);
      expect(circuits).toEqual(['local:closed', 'aws:open', 'local-b:closed', 'aws-solo:closed', 'aws-replica:closed', 'aws-repair:closed', 'aws-west:closed']);
      const during = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('during the outage') });
      expect(during.status, JSON.stringify(during.body)).toBe(200);
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: during.body.ciphertext })).body.plaintext).toBe(b64('during the outage'));
      // Every failover is counted and audited: the decrypts served by the replica, the envelope made without AWS's wrap.
      const metrics = await (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
      expect(metrics).toMatch(/^kmsgw_failovers_total\{operation="decrypt",from="aws",to="local"\} (\d+)$/m);
      const failovers = Number(/^kmsgw_failovers_total\{operation="decrypt",from="aws",to="local"\} (\d+)$/m.exec(metrics)![1]);
      // Once the circuit is open, AWS is still tried first and fails at once: each of the 200 is a failover.
      expect(failovers).toBe(200);
      expect(metrics).toMatch(/^kmsgw_envelope_missing_wraps_total\{connection="aws"\} 1$/m);
      const auditor = await gw.apiKey(['auditor']);
      const events = (await gw.call('GET', `/v1/audit/events?keyId=${k.id}&limit=1000`, undefined, { authorization: `Bearer ${auditor.secret}` })).body.events as any[];
      expect(events.filter((e) => e.action === 'decrypt' && e.detail.failoverFrom === 'aws' && e.detail.servedBy === 'local')).toHaveLength(200);
      expect(events.filter((e) => e.action === 'encrypt' && e.detail.missingWraps === 'aws')).toHaveLength(1);
    } finally {
      server.resetHandlers();
    }
  });

  it('a key without replicas fails with 503 while its only provider is gone', async () => {
    const k = (await create({ connection: 'aws-solo' })).body;
    const ciphertext = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
    outage();
    try {
      const res = await gw.call('POST', '/v1/decrypt', { ciphertext });
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.detail).toMatch(/connection "aws-solo"/);
    } finally {
      server.resetHandlers();
    }
  });
});

describe('repair', () => {
  const scrape = async () => (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
  const awaitingRepair = async () => Number(/^kmsgw_envelopes_awaiting_repair (\d+)$/m.exec(await scrape())![1]);

  it('envelopes made while the replica was down get its wrap from the sync job; with the primary down later, they open with it', async () => {
    const k = (await create({ connection: 'aws-repair', replicas: ['aws-west'] })).body;
    const before = await awaitingRepair();
    outage(westEndpoint);
    let envelopes: string[];
    try {
      envelopes = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
        const res = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64(`degraded ${i}`) });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.ciphertext as string;
      }));
    } finally {
      server.resetHandlers();
    }
    for (const e of envelopes) expect(decodeEnvelope(Buffer.from(e, 'base64')).wraps).toHaveLength(1);
    expect(await awaitingRepair()).toBe(before + 30);

    // Only administrators start a sync; others learn nothing of the key.
    const reader = await gw.apiKey(['read-only']);
    expect((await gw.call('POST', `/v1/keys/${k.id}/sync`, undefined, { authorization: `Bearer ${reader.secret}` })).status).toBe(403);
    const started = await gw.call('POST', `/v1/keys/${k.id}/sync`);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    gw.runtime.jobs.wake();
    expect((await finished(gw, started.body.id)).progress).toEqual({ repaired: 30, wrapsAdded: 30 });
    expect(await awaitingRepair()).toBe(before);

    // The primary's region is gone now: the caller's envelopes carry its wrap only, and open with the replica's, which the repair added.
    outage(endpoint);
    try {
      const opened = await Promise.all(envelopes.map(async (ciphertext) => (await gw.call('POST', '/v1/decrypt', { ciphertext })).body));
      expect(opened.map((o) => o.plaintext)).toEqual(envelopes.map((_, i) => b64(`degraded ${i}`)));
      // A tampered envelope still fails authentication; the added wraps are bound to its header.
      const tampered = Buffer.from(envelopes[0]!, 'base64');
      tampered[tampered.length - 1]! ^= 1;
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: tampered.toString('base64') })).body).toMatchObject({ status: 400, field: 'ciphertext' });
    } finally {
      server.resetHandlers();
    }
    const auditor = await gw.apiKey(['auditor']);
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${k.id}&limit=1000`, undefined, { authorization: `Bearer ${auditor.secret}` })).body.events as any[];
    expect(events.filter((e) => e.action === 'decrypt' && e.status === 200 && e.detail.servedBy === 'aws-west')).toHaveLength(30);
  });

  it('a repair waits while the missing binding is still down, and completes once it is back', async () => {
    const k = (await create({ connection: 'local', replicas: ['aws-west'] })).body;
    let jobId = '';
    outage(westEndpoint);
    try {
      const res = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x') });
      expect(res.status).toBe(200);
      const started = await gw.call('POST', `/v1/keys/${k.id}/sync`);
      gw.runtime.jobs.wake();
      // The step fails and the job is queued again for a later attempt; nothing is marked repaired.
      for (let i = 0; i < 100; i++) {
        const job = (await gw.call('GET', `/v1/jobs/${started.body.id}`)).body;
        if (job.attempts >= 1 && job.status === 'QUEUED') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const job = (await gw.call('GET', `/v1/jobs/${started.body.id}`)).body;
      expect(job).toMatchObject({ status: 'QUEUED', progress: {} });
      expect(job.error).toMatch(/aws-west/);
      jobId = started.body.id;
    } finally {
      server.resetHandlers();
    }
    // The retry is due after its back-off (2 s for the second attempt).
    for (let i = 0; i < 100 && (await gw.call('GET', `/v1/jobs/${jobId}`)).body.status !== 'SUCCEEDED'; i++) {
      gw.runtime.jobs.wake();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await finished(gw, jobId)).progress).toEqual({ repaired: 1, wrapsAdded: 1 });
  });
});
