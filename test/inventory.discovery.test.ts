// Discovery against the real emulators: keys created straight in moto and on the SoftHSM2 token
// (not through the gateway) appear as observed, with their specs and tags; the gateway's own keys
// are matched to their bindings, never listed twice; a managed key disabled in the emulator is
// drift, recorded once and resolved when put right, and so are its rotation switched on and its tags
// changed there; a managed key's object destroyed on the token is drift too; an observed key is
// never used until adopted, and its changes at the backend are recorded with before and after.
import { CreateKeyCommand, DisableKeyCommand, DisableKeyRotationCommand, EnableKeyCommand, EnableKeyRotationCommand, KMSClient, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generate, findAll } from '../providers/pkcs11/objects.ts';
import type { Pkcs11Provider } from '../providers/pkcs11/index.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { softhsmConnection } from './support/softhsm.ts';
import { discover as discoverPass, driftOf, finished, observed as observedKeys } from './support/inventory.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');
const region = process.env.AWS_REGION ?? 'eu-west-1';
const kms = new KMSClient({ region, endpoint });

let gw: TestGateway;
let hsm: Pkcs11Provider;
const outsideLabel = `outside-${randomBytes(4).toString('hex')}`;
let outsideArn: string;
let defaultsArn: string;
let managedAws: string;
let managedHsm: string;

beforeAll(async () => {
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region, endpoint },
    softhsmConnection('hsm'),
  ] } });
  hsm = gw.runtime.connections.get('hsm').provider as Pkcs11Provider;
  await gw.runtime.jobs.start();
  managedAws = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' })).body.id;
  managedHsm = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'hsm' })).body.id;
  // Made beside the gateway, as a console or another tool would.
  outsideArn = (await kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Tags: [{ TagKey: 'team', TagValue: 'billing' }] }))).KeyMetadata!.Arn!;
  // AWS's defaults (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), which moto leaves out of the key's description.
  defaultsArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  await hsm.token.withSession(async (lib, s) => {
    await generate(lib, hsm.token.p, s, { label: outsideLabel, id: randomBytes(16), spec: 'HMAC_256', usage: 'MAC', exportable: false });
  });
}, 60_000);
afterAll(async () => { await gw.close(); });

async function openDriftMetric(): Promise<number> {
  const text = await (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
  return Number(/^kmsgw_drift_open_keys (\d+)$/m.exec(text)![1]);
}

const discover = (connection: string) => discoverPass(gw, connection);
const observed = (connection: string) => observedKeys(gw, connection);
const drift = (keyId: string) => driftOf(gw, keyId);

// The emulator holds every key the suite's other files made too: a pass describes them all.
describe('discovery', { timeout: 120_000 }, () => {
  it('keys made straight in the AWS emulator appear as observed, with spec and tags; the gateway\'s own are not listed twice', async () => {
    const job = await discover('aws');
    expect(job.progress.seen).toBeGreaterThanOrEqual(2);
    expect(job.progress.managed).toBeGreaterThanOrEqual(1);
    const outside = (await observed('aws')).find((k) => k.bindings[0].ref === `aws:${outsideArn}`);
    expect(outside).toMatchObject({ managed: false, origin: 'PROVIDER', spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', state: 'ACTIVE', provider: 'aws', tags: { team: 'billing' } });
    expect((await observed('aws')).find((k) => k.bindings[0].ref === `aws:${defaultsArn}`)).toMatchObject({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
    const all = (await gw.call('GET', '/v1/keys?connection=aws&limit=1000')).body.keys as any[];
    const managedRef = all.find((k) => k.id === managedAws).bindings[0].ref;
    expect(all.filter((k) => k.bindings.some((b: any) => b.ref === managedRef))).toHaveLength(1);
    expect(all.find((k) => k.id === managedAws).bindings[0].lastSeenAt).not.toBeNull();
  });

  it('a second pass records no key twice: discovery is idempotent', async () => {
    // Other test files share the emulator and may add keys between the passes: those are new, the rest must not be.
    const before = (await observed('aws')).map((k) => k.id);
    await discover('aws');
    const after = (await gw.call('GET', '/v1/keys?connection=aws&limit=1000')).body.keys as any[];
    expect(after.map((k) => k.id)).toEqual(expect.arrayContaining(before));
    const refs = after.map((k) => k.bindings[0].ref);
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('objects made straight on the token appear as observed', async () => {
    await discover('hsm');
    const outside = (await observed('hsm')).find((k) => k.bindings[0].ref.includes(`object=${outsideLabel};`));
    expect(outside).toMatchObject({ spec: 'HMAC_256', usage: 'MAC', provider: 'pkcs11', managed: false });
  });

  it('two objects under one label and id on the token (PKCS#11 allows it) are recorded once and counted, and the pass goes on', async () => {
    const twin = { label: `twin-${randomBytes(4).toString('hex')}`, id: randomBytes(16), spec: 'HMAC_256' as const, usage: 'MAC' as const, exportable: false };
    await hsm.token.withSession(async (lib, s) => {
      await generate(lib, hsm.token.p, s, twin);
      await generate(lib, hsm.token.p, s, twin);
    });
    try {
      const job = await discover('hsm');
      expect((await observed('hsm')).filter((k) => k.bindings[0].ref.includes(`object=${twin.label};`))).toHaveLength(1);
      // Counted (the notes that name each pair are capped, and a long-lived token may fill them first).
      expect(job.progress.duplicates).toBeGreaterThanOrEqual(1);
      // Wherever a page boundary falls, the twins end one page together (a cursor is a label, \u0001, an id in hex).
      const page = await hsm.discoverKeys({ cursor: twin.label, pageSize: 1, pace: async () => {} });
      expect(page.keys.map((k) => k.ref.includes(`object=${twin.label};`))).toEqual([true, true]);
    } finally {
      await hsm.token.withSession(async (lib, s) => { for (const h of findAll(lib, hsm.token.p, s, twin.id)) lib.C_DestroyObject(s, h); });
    }
  });

  it('an observed key is never used until adopted; adopted, it works', async () => {
    const outside = (await observed('aws')).find((k) => k.bindings[0].ref === `aws:${outsideArn}`);
    const refused = await gw.call('POST', `/v1/keys/${outside.id}/encrypt`, { plaintext: b64('x') });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/observed.*adopt it first/);
    expect((await gw.call('POST', `/v1/keys/${outside.id}/suspend`)).status).toBe(409);
    const adopted = await gw.call('POST', `/v1/keys/${outside.id}/adopt`);
    expect(adopted.body).toMatchObject({ managed: true });
    const sealed = await gw.call('POST', `/v1/keys/${outside.id}/encrypt`, { plaintext: b64('adopted') });
    expect(sealed.status).toBe(200);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: sealed.body.ciphertext })).body.plaintext).toBe(b64('adopted'));
  });

  it('a managed key disabled in the emulator is drift, recorded once, and resolved when enabled again', async () => {
    const ref = (await gw.call('GET', `/v1/keys/${managedAws}`)).body.bindings[0].ref as string;
    await kms.send(new DisableKeyCommand({ KeyId: ref.split('/').at(-1) }));
    const job = await discover('aws');
    expect(job.progress.drift).toBe(1);
    expect(await drift(managedAws)).toMatchObject([{ type: 'DRIFT', detail: { connection: 'aws', ref, field: 'state', before: 'ENABLED', after: 'DISABLED' } }]);
    await discover('aws');
    expect(await drift(managedAws)).toHaveLength(1);
    await kms.send(new EnableKeyCommand({ KeyId: ref.split('/').at(-1) }));
    await discover('aws');
    expect((await drift(managedAws)).map((d) => d.type)).toEqual(['DRIFT_RESOLVED', 'DRIFT']);
    const events = (await gw.call('GET', `/v1/keys/${managedAws}/events`)).body.events.map((e: any) => e.type);
    expect(events).toEqual(['CREATED', 'DRIFT', 'DRIFT_RESOLVED']);
  });

  it('rotation switched on and tags changed in the emulator are drift, field by field, counted in the metrics until put right', async () => {
    const keyId = ((await gw.call('GET', `/v1/keys/${managedAws}`)).body.bindings[0].ref as string).split('/').at(-1)!;
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'owner', TagValue: 'someone-else' }] }));
    await discover('aws');
    const open = (await drift(managedAws)).filter((d) => d.type === 'DRIFT' && d.detail.field !== 'state');
    expect(open.map((d) => [d.detail.field, d.detail.before, d.detail.after]).sort()).toEqual([['rotation', 'off', 'on'], ['tags', '{}', '{"owner":"someone-else"}']]);
    expect(await openDriftMetric()).toBe(1);
    await discover('aws');
    expect((await drift(managedAws)).filter((d) => d.type === 'DRIFT' && d.detail.field !== 'state')).toHaveLength(2);
    await kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    await kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['owner'] }));
    await discover('aws');
    const resolved = (await drift(managedAws)).filter((d) => d.type === 'DRIFT_RESOLVED' && d.detail.field !== 'state');
    expect(resolved.map((d) => d.detail.field).sort()).toEqual(['rotation', 'tags']);
    expect(await openDriftMetric()).toBe(0);
  });

  it('an observed key whose rotation is switched off in the emulator is an observed change, with before and after', async () => {
    const arn = (await kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.Arn!;
    await kms.send(new EnableKeyRotationCommand({ KeyId: arn }));
    await discover('aws');
    const key = (await observed('aws')).find((k) => k.bindings[0].ref === `aws:${arn}`);
    expect(key.rotationPeriodDays).toBeGreaterThan(0);
    await kms.send(new DisableKeyRotationCommand({ KeyId: arn }));
    await discover('aws');
    const changes = ((await gw.call('GET', '/v1/drift?limit=1000')).body.drift as any[]).filter((d) => d.keyId === key.id);
    expect(changes).toMatchObject([{ type: 'OBSERVED_CHANGE', detail: { before: { rotationPeriodDays: key.rotationPeriodDays }, after: { rotationPeriodDays: null } } }]);
    expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.rotationPeriodDays).toBeNull();
  });

  it('scheduled discovery queues a pass of each listable connection only once the period has run', async () => {
    const inventory = gw.runtime.services.inventory;
    expect(await inventory.discoverDue(3_600_000)).toEqual([]);
    const queued = await inventory.discoverDue(0);
    expect(queued.map((j) => j.target).sort()).toEqual(['aws', 'hsm']);
    expect(queued.every((j) => j.createdBy === 'system:schedule')).toBe(true);
    for (const job of queued) await finished(gw, job.id);
  });

  it('a managed key whose object is destroyed on the token is drift: gone', async () => {
    const versionRef = (await gw.call('GET', `/v1/keys/${managedHsm}`)).body.bindings[0].ref as string;
    expect(versionRef).toContain(managedHsm);
    const destroyed = await hsm.token.withSession(async (lib, s) => {
      // The version's objects carry the key id as their label; find them by the version's CKA_ID.
      const graph = await gw.runtime.services.keys.find(managedHsm);
      const ref = [...graph.bindings[0]!.versions.values()][0]!;
      const cka = Buffer.from(/id=([%0-9a-f]+)/.exec(ref)![1]!.replaceAll('%', ''), 'hex');
      const handles = findAll(lib, hsm.token.p, s, cka);
      for (const h of handles) lib.C_DestroyObject(s, h);
      return handles.length;
    });
    expect(destroyed).toBe(1); // an AES key is one secret object
    const job = await discover('hsm');
    expect(job.progress.gone).toBeGreaterThanOrEqual(1);
    expect(await drift(managedHsm)).toMatchObject([{ type: 'DRIFT', detail: { field: 'presence', after: 'GONE' } }]);
  });

  it('a backend key made for a gateway key that does not use it (a rotation whose answer was lost) is an orphan, named in the pass\'s notes; one its pending replica\'s sync job will take up is not recorded', async () => {
    // What AWS holds after a rotation of managedAws whose CreateKey answer never reached the gateway.
    const tags = (keyId: string) => [{ TagKey: 'kmsgw:key-id', TagValue: keyId }, { TagKey: 'kmsgw:operation', TagValue: randomBytes(8).toString('hex') }];
    const orphanArn = (await kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Tags: tags(managedAws) }))).KeyMetadata!.Arn!;
    // A local key whose AWS replica is still being made (its sync job held back): AWS already holds the replica's key.
    const local = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local' })).body.id as string;
    const held = vi.spyOn(gw.runtime.replicaSync, 'step').mockRejectedValue(new Error('held back by the test'));
    try {
      expect((await gw.call('POST', `/v1/keys/${local}/replicas`, { connection: 'aws' })).status).toBe(202);
      const replicaArn = (await kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Tags: tags(local) }))).KeyMetadata!.Arn!;
      const job = await discover('aws');
      expect(job.progress.orphans).toBeGreaterThanOrEqual(1);
      expect(job.progress.awaitingSync).toBeGreaterThanOrEqual(1);
      expect(job.notes).toContain(`aws:${orphanArn}: made for gateway key ${managedAws}, which does not use it; once checked, schedule its deletion at the backend`);
      const found = await observed('aws');
      expect(found.find((k) => k.bindings[0].ref === `aws:${orphanArn}`)).toMatchObject({ managed: false, description: expect.stringContaining(`made for gateway key ${managedAws}, which does not use it`) });
      expect(found.filter((k) => k.bindings[0].ref === `aws:${replicaArn}`)).toEqual([]);
    } finally {
      held.mockRestore();
    }
  });

  it('a connection that cannot list keys is refused; an unknown one is 404', async () => {
    expect((await gw.call('POST', '/v1/connections/local/discover')).status).toBe(409);
    expect((await gw.call('POST', '/v1/connections/nowhere/discover')).status).toBe(404);
  });
});
