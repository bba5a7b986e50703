// Backend keys follow the gateway: a key's tags and its deletion reach its AWS keys (moto, a server
// of this file's own so that it can go dark) through the key's sync job. A change made while AWS
// does not answer is recorded at once and reaches AWS when it answers again.
import { DescribeKeyCommand, KMSClient, ListResourceTagsCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../src/crypto/envelope.ts';
import { loadKeyGraphs } from '../src/db/queries/keys.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { startMoto, type Moto } from './support/moto.ts';
import { outage } from './support/outage.ts';

const region = 'eu-west-1';
let moto: Moto;
let kms: KMSClient;
let gw: TestGateway;
beforeAll(async () => {
  moto = await startMoto();
  kms = new KMSClient({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region, endpoint: moto.endpoint, timeoutMs: 500, deadlineMs: 1_000 },
  ] } });
});
afterAll(async () => {
  await gw?.close();
  kms?.destroy();
  await moto?.close();
});

const create = async (body: Record<string, unknown>) => {
  const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', replicas: ['aws'], ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
};

/** The key ids of the AWS keys of a gateway key's versions (AWS makes a key per version), oldest first. */
async function awsKeys(keyId: string): Promise<string[]> {
  const [graph] = await loadKeyGraphs(gw.database.db, [keyId]);
  const binding = graph!.bindings.find((b) => b.connection === 'aws')!;
  return [...binding.versions.entries()].sort(([a], [b]) => a - b).map(([, ref]) => ref.split('/').at(-1)!);
}

/** An AWS key's tags, without the gateway's bookkeeping ones. */
async function tagsOf(awsKey: string): Promise<Record<string, string>> {
  const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: awsKey }))).Tags ?? [];
  return Object.fromEntries(tags.filter((t) => !t.TagKey!.startsWith('kmsgw:')).map((t) => [t.TagKey!, t.TagValue!]));
}

const stateOf = async (awsKey: string) => (await kms.send(new DescribeKeyCommand({ KeyId: awsKey }))).KeyMetadata!.KeyState;
const backendStates = async (keyId: string) => (await gw.call('GET', `/v1/keys/${keyId}`)).body.bindings.map((b: { backendState: string }) => b.backendState);

describe('tags', () => {
  it('reach every version\'s AWS key; the gateway removes only tags it wrote, and leaves out those AWS would refuse', async () => {
    const k = await create({ tags: { team: 'payments', ticket: 'INC#42', 'aws:cost': 'x' } });
    // '#' is not in AWS's tag grammar and 'aws:' is AWS's own prefix: written, the whole request would fail.
    expect((await gw.synced(k.id)).notes).toEqual(["aws: tags written (left out, beyond the backend's grammar or its limit on tags: ticket, aws:cost)"]);
    const [v1] = await awsKeys(k.id);
    expect(await tagsOf(v1!)).toEqual({ team: 'payments' });

    await kms.send(new TagResourceCommand({ KeyId: v1, Tags: [{ TagKey: 'owner', TagValue: 'secops' }] }));
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { team: null, env: 'prod' } })).status).toBe(200);
    await gw.synced(k.id);
    expect(await tagsOf(v1!)).toEqual({ env: 'prod', owner: 'secops' });

    expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    const [, v2] = await awsKeys(k.id);
    expect(await tagsOf(v2!)).toEqual({ env: 'prod' });
  });

  it('a description change queues nothing; a key on connections that keep no tags queues nothing for its tags', async () => {
    const k = await create({});
    const jobs = async () => (await gw.call('GET', `/v1/jobs?kind=sync&target=${k.id}`)).body.jobs.length;
    await gw.call('PATCH', `/v1/keys/${k.id}`, { description: 'orders' });
    expect(await jobs()).toBe(0);
    const local = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { team: 'a' } })).body;
    await gw.call('PATCH', `/v1/keys/${local.id}`, { tags: { team: 'b' } });
    expect((await gw.call('GET', `/v1/jobs?kind=sync&target=${local.id}`)).body.jobs).toEqual([]);
  });

  it('the scheduled round queues the sync of a key whose AWS key lacks its tags, once', async () => {
    const k = await create({ tags: { team: 'orders' } });
    await gw.synced(k.id);
    // As after an upgrade from a gateway that wrote no tags.
    await gw.database.db.execute(sql`update key_bindings set applied_tags = null where key_id = ${k.id}`);
    await kms.send(new TagResourceCommand({ KeyId: (await awsKeys(k.id))[0], Tags: [{ TagKey: 'team', TagValue: 'stale' }] }));
    expect(await gw.runtime.replicaSync.queueDue('test')).toBeGreaterThanOrEqual(1);
    await gw.synced(k.id);
    expect(await tagsOf((await awsKeys(k.id))[0]!)).toEqual({ team: 'orders' });
    await gw.runtime.replicaSync.queueDue('test');
    expect((await gw.call('GET', `/v1/jobs?kind=sync&target=${k.id}&status=QUEUED`)).body.jobs).toEqual([]);
  });
});

describe('deletion', () => {
  it('scheduled while AWS does not answer: the key is PENDING_DELETION at once, and every AWS key follows when AWS is back; cancelled, they are enabled again', async () => {
    const k = await create({});
    await gw.call('POST', `/v1/keys/${k.id}/rotate`);
    const versions = await awsKeys(k.id);
    moto.freeze();
    let res;
    try {
      res = await gw.call('POST', `/v1/keys/${k.id}/schedule-deletion`, { pendingDays: 7 });
      expect(res.body.state).toBe('PENDING_DELETION');
      expect(res.body.bindings.map((b: { connection: string; backendState: string }) => `${b.connection}:${b.backendState}`)).toEqual(['local:LIVE', 'aws:LIVE']);
      await gw.runtime.jobs.start();
      // The job's first attempt meets the outage and waits to retry.
      for (const end = Date.now() + 30_000; !(await gw.call('GET', `/v1/jobs?kind=sync&target=${k.id}`)).body.jobs[0]?.error; await new Promise((r) => setTimeout(r, 50))) {
        if (Date.now() > end) throw new Error('the sync job met no error in 30 s');
      }
    } finally {
      moto.thaw();
    }
    const job = await gw.synced(k.id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    expect(job.notes).toEqual(['local: deletion scheduled', 'aws: deletion scheduled']);
    expect(await Promise.all(versions.map(stateOf))).toEqual(['PendingDeletion', 'PendingDeletion']);
    expect(await backendStates(k.id)).toEqual(['PENDING_DELETION', 'PENDING_DELETION']);

    await gw.call('POST', `/v1/keys/${k.id}/cancel-deletion`);
    await gw.synced(k.id);
    expect(await Promise.all(versions.map(stateOf))).toEqual(['Enabled', 'Enabled']);
    expect(await backendStates(k.id)).toEqual(['LIVE', 'LIVE']);
  });

  it('a repeated step finds its work done: scheduling an AWS key already pending deletion is not an error', async () => {
    const k = await create({});
    await gw.call('POST', `/v1/keys/${k.id}/schedule-deletion`, { pendingDays: 7 });
    await gw.synced(k.id);
    // As if the instance died after AWS acted and before the step's record committed.
    await gw.database.db.execute(sql`update key_bindings set applied_state = 'LIVE' where key_id = ${k.id}`);
    await gw.runtime.replicaSync.queueDue('test');
    expect(await gw.synced(k.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(await stateOf((await awsKeys(k.id))[0]!)).toBe('PendingDeletion');
  });
});

describe('a replica added to an existing key', () => {
  it('is made by the sync job as an independent AWS key holding the current version, with the key\'s tags: envelopes sealed while it was pending gain its wrap, later ones carry it, and re-encryption gives an older one', async () => {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', tags: { team: 'ledger' } });
    const k = res.body as { id: string };
    await gw.call('POST', `/v1/keys/${k.id}/rotate`);
    const seal = async () => (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('ledger entry') })).body.ciphertext as string;
    const wraps = (ct: string) => decodeEnvelope(Buffer.from(ct, 'base64')).wraps.length;
    const before = await seal();
    const added = await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'aws' });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    const bindings = async () => (await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings.map((b: { connection: string; role: string; sameMaterial: boolean; syncStatus: string }) => [b.connection, b.role, b.sameMaterial, b.syncStatus]);
    expect(await bindings()).toEqual([['local', 'primary', false, 'in_sync'], ['aws', 'replica', false, 'pending']]);
    const during = await seal();
    expect(wraps(during)).toBe(1);
    expect(await gw.synced(k.id)).toMatchObject({ status: 'SUCCEEDED', progress: { caughtUp: 1, repaired: 1, wrapsAdded: 1 } });
    expect(await bindings()).toEqual([['local', 'primary', false, 'in_sync'], ['aws', 'replica', false, 'in_sync']]);
    expect(await awsKeys(k.id)).toHaveLength(1);
    expect(await tagsOf((await awsKeys(k.id))[0]!)).toEqual({ team: 'ledger' });
    // The envelope sealed while the replica was pending opens through AWS alone.
    const back = outage(gw.runtime.connections.get('local').provider, ['decrypt']);
    try {
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: during })).body).toMatchObject({ plaintext: b64('ledger entry') });
    } finally {
      back();
    }

    expect(wraps(before)).toBe(1);
    expect(wraps(await seal())).toBe(2);
    const reencrypted = (await gw.call('POST', '/v1/reencrypt', { ciphertext: before })).body.ciphertext as string;
    expect(wraps(reencrypted)).toBe(2);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: reencrypted })).body.plaintext).toBe(b64('ledger entry'));
  });
});
