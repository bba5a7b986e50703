// Same-material replicas: an exportable key made outside the clouds (the local keystore, the HSM)
// is replicated by importing its own material, version by version, through the backends' export and
// import schemes, here between the local keystore and a real PKCS#11 token (SoftHSM2). The replica
// then signs, MACs and unwraps for the key, and takes over when the primary fails.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeEnvelope } from '../src/crypto/envelope.ts';
import { eq } from 'drizzle-orm';
import { loadKeyGraphs } from '../src/db/queries/keys.ts';
import { localKeyMaterial } from '../src/db/schema/index.ts';
import { drill } from '../src/dr/drill.ts';
import { isMacer, isSigner, withCapability } from '../providers/provider.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { finished } from './support/inventory.ts';
import { answerLost, outage } from './support/outage.ts';
import { labelled, softhsmConnection } from './support/softhsm.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ config: { connections: [{ name: 'local', provider: 'local' }, softhsmConnection('hsm')] } });
});
afterAll(async () => { await gw?.close(); });

interface Binding { id: string; connection: string; ref: string; role: string; sameMaterial: boolean; syncStatus: string }

const create = async (body: Record<string, unknown>) => {
  const r = await gw.call('POST', '/v1/keys', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; bindings: Binding[] };
};
const bindingsOf = async (id: string) => (await gw.call('GET', `/v1/keys/${id}`)).body.bindings as Binding[];
/** A binding's backend reference for a version (the API does not show them). */
const versionRef = async (keyId: string, bindingId: string, version: number) => {
  const [graph] = await loadKeyGraphs(gw.database.db, [keyId]);
  return graph!.bindings.find((b) => b.id === bindingId)!.versions.get(version)!;
};
/** The public key a binding's backend holds for a version, asked of the backend itself. */
const backendPublicKey = async (keyId: string, b: Binding, version: number, spec: 'EC_P256' | 'RSA_2048') => {
  const provider = withCapability(gw.runtime.connections.get(b.connection).provider, isSigner, 'sign');
  return Buffer.from(await provider.getPublicKey({ ref: b.ref, versionRef: await versionRef(keyId, b.id, version), spec }));
};
const gatewayPublicKey = async (keyId: string, version: number) => {
  const pem = (await gw.call('GET', `/v1/keys/${keyId}/public-key?version=${version}`)).body.publicKey as string;
  return createPublicKey(pem).export({ type: 'spki', format: 'der' });
};

const failovers = async (operation: string, from: string, to: string) => {
  const metrics = await (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
  return Number(new RegExp(`^kmsgw_failovers_total\\{operation="${operation}",from="${from}",to="${to}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
};

describe('same-material replicas', () => {
  it('an exportable local EC key gets an HSM replica holding its own key pair, version by version, and the HSM takes over signing when the local keystore fails', async () => {
    const k = await create({ spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, connection: 'local', replicas: ['hsm'] });
    expect(k.bindings.map((b) => [b.connection, b.role, b.sameMaterial])).toEqual([['local', 'primary', false], ['hsm', 'replica', true]]);
    const hsm = k.bindings[1]!;
    expect(await backendPublicKey(k.id, hsm, 1, 'EC_P256')).toEqual(await gatewayPublicKey(k.id, 1));

    // What the local keystore signs, the token verifies with the replica's own key object.
    const message = Buffer.from('same material');
    const signed = (await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64(message), algorithm: 'ECDSA_SHA_256' })).body;
    const onToken = withCapability(gw.runtime.connections.get('hsm').provider, isSigner, 'sign');
    const digest = createHash('sha256').update(message).digest();
    expect(await onToken.verify({ ref: hsm.ref, versionRef: await versionRef(k.id, hsm.id, 1), spec: 'EC_P256', algorithm: 'ECDSA_SHA_256', digest, signature: Buffer.from(signed.signature, 'base64') })).toBe(true);

    // Rotation copies the new version too.
    expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    expect((await bindingsOf(k.id)).map((b) => b.syncStatus)).toEqual(['in_sync', 'in_sync']);
    const v2 = await gatewayPublicKey(k.id, 2);
    expect(v2).not.toEqual(await gatewayPublicKey(k.id, 1));
    expect(await backendPublicKey(k.id, hsm, 2, 'EC_P256')).toEqual(v2);

    // The local keystore fails: signing goes on, on the token, and the signature verifies under the key's public key.
    const before = await failovers('sign', 'local', 'hsm');
    const restore = outage(gw.runtime.connections.get('local').provider, ['sign']);
    try {
      const r = await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64(message), algorithm: 'ECDSA_SHA_256' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.version).toBe(2);
      expect(verify('sha256', message, createPublicKey({ key: v2, format: 'der', type: 'spki' }), Buffer.from(r.body.signature, 'base64'))).toBe(true);
    } finally {
      restore();
    }
    expect(await failovers('sign', 'local', 'hsm')).toBe(before + 1);
    const auditor = await gw.apiKey(['auditor']);
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${k.id}&action=sign&limit=10`, undefined, { authorization: `Bearer ${auditor.secret}` })).body.events as any[];
    expect(events.filter((e) => e.detail.failoverFrom === 'local' && e.detail.servedBy === 'hsm')).toHaveLength(1);

    // The drill agrees: without the local keystore the key still signs, on the HSM.
    expect((await drill(gw.database.db, gw.runtime.connections, 'local')).find((f) => f.keyId === k.id)).toMatchObject({ verdict: 'usable', via: 'hsm' });
  });

  it('an exportable HSM HMAC key gets a local replica with the same key (the token exports with SHA-1 OAEP), which MACs the same', async () => {
    const k = await create({ spec: 'HMAC_256', usage: 'MAC', exportable: true, connection: 'hsm', replicas: ['local'] });
    expect(k.bindings[1]).toMatchObject({ connection: 'local', sameMaterial: true });
    const message = Buffer.from('mac me');
    const local = withCapability(gw.runtime.connections.get('local').provider, isMacer, 'MAC');
    for (const version of [1, 2]) {
      if (version === 2) expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
      const mac = Buffer.from((await gw.call('POST', `/v1/keys/${k.id}/mac`, { message: b64(message) })).body.mac, 'base64');
      const onReplica = await local.mac({ ref: k.bindings[1]!.ref, versionRef: await versionRef(k.id, k.bindings[1]!.id, version), spec: 'HMAC_256', message });
      expect(Buffer.from(onReplica)).toEqual(mac);
    }
  });

  it('an AES key\'s same-material replica wraps every envelope and opens it when the primary fails', async () => {
    const k = await create({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true, connection: 'local', replicas: ['hsm'] });
    expect(k.bindings[1]!.sameMaterial).toBe(true);
    const sealed = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('both') })).body.ciphertext;
    expect(decodeEnvelope(Buffer.from(sealed, 'base64')).wraps).toHaveLength(2);
    const restore = outage(gw.runtime.connections.get('local').provider, ['decrypt']);
    try {
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: sealed })).body.plaintext).toBe(b64('both'));
    } finally {
      restore();
    }
  });

  it('a replica that missed a rotation gets the primary\'s material for it from the sync job', async () => {
    const k = await create({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', exportable: true, connection: 'local', replicas: ['hsm'] });
    const restore = outage(gw.runtime.connections.get('hsm').provider, ['importKey']);
    try {
      expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    } finally {
      restore();
    }
    expect((await bindingsOf(k.id)).map((b) => b.syncStatus)).toEqual(['in_sync', 'behind']);
    const job = await gw.call('POST', `/v1/keys/${k.id}/sync`);
    expect(job.status).toBe(202);
    await gw.runtime.jobs.start();
    expect((await finished(gw, job.body.id)).progress).toMatchObject({ caughtUp: 1 });
    expect((await bindingsOf(k.id)).map((b) => b.syncStatus)).toEqual(['in_sync', 'in_sync']);
    expect(await backendPublicKey(k.id, k.bindings[1]!, 2, 'RSA_2048')).toEqual(await gatewayPublicKey(k.id, 2));
  });

  it('keys whose material cannot be copied: a signing key refuses replicas, with the reason; an encryption key gets an independent one', async () => {
    const refused = await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'local', replicas: ['hsm'] });
    expect(refused.body).toMatchObject({ status: 400, field: 'replicas', detail: expect.stringContaining('the key must be exportable') });
    const independent = await create({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', replicas: ['hsm'] });
    expect(independent.bindings[1]!.sameMaterial).toBe(false);
    // Nothing was made for the refused key.
    expect((await gw.call('GET', '/v1/keys?limit=1000')).body.keys.filter((x: { spec: string; usage: string; bindings: Binding[] }) => x.usage === 'SIGN_VERIFY' && x.bindings.length === 2 && !x.bindings[1]!.sameMaterial)).toEqual([]);
  });

  it('a replica added to an existing key gets every version\'s material from the sync job: the HSM holds both versions\' key pairs and signs when the local keystore fails', async () => {
    const k = await create({ spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, connection: 'local' });
    const old = (await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64('signed before the replica'), algorithm: 'ECDSA_SHA_256' })).body.signature;
    expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    const added = await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'hsm' });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    expect(added.body).toMatchObject({ kind: 'sync', target: k.id, status: 'QUEUED' });
    const pending = ((await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings as Binding[]).find((b) => b.connection === 'hsm');
    expect(pending).toMatchObject({ role: 'replica', sameMaterial: true, syncStatus: 'pending', ref: null });
    const job = await gw.synced(k.id);
    expect(job).toMatchObject({ id: added.body.id, status: 'SUCCEEDED', progress: { caughtUp: 2 } });
    expect(job.notes).toEqual(['hsm: replica with version 1 made', 'hsm: version 2 made']);
    const hsm = ((await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings as Binding[]).find((b) => b.connection === 'hsm')!;
    expect(hsm).toMatchObject({ role: 'replica', sameMaterial: true, syncStatus: 'in_sync', ref: expect.stringMatching(/^pkcs11:/) });
    for (const version of [1, 2]) expect(await backendPublicKey(k.id, hsm, version, 'EC_P256')).toEqual(await gatewayPublicKey(k.id, version));
    const restore = outage(gw.runtime.connections.get('local').provider, ['sign']);
    try {
      const res = await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64('signed by the replica'), algorithm: 'ECDSA_SHA_256' });
      expect(res.status).toBe(200);
      expect(verify('sha256', Buffer.from('signed by the replica'), createPublicKey({ key: await gatewayPublicKey(k.id, 2), format: 'der', type: 'spki' }), Buffer.from(res.body.signature, 'base64'))).toBe(true);
    } finally {
      restore();
    }
    expect((await gw.call('POST', `/v1/keys/${k.id}/verify`, { message: b64('signed before the replica'), signature: old, algorithm: 'ECDSA_SHA_256', version: 1 })).body.valid).toBe(true);
    const events = (await gw.call('GET', `/v1/keys/${k.id}/events`)).body.events;
    expect(events.at(-1)).toMatchObject({ type: 'REPLICA_ADDED', detail: { connection: 'hsm', sameMaterial: true } });
  });

  it('a replica added while the key\'s sync job is ending is made by that job: the job goes round again instead of ending with the replica pending', async () => {
    const k = await create({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true, connection: 'local' });
    // The job's last step has read the key (nothing to do) and waits here, before its checkpoint commits.
    let reached!: () => void;
    const atEnd = new Promise<void>((r) => { reached = r; });
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    const sync = gw.runtime.replicaSync;
    const step = sync.step.bind(sync);
    let waited = false;
    const paused = vi.spyOn(sync, 'step').mockImplementation(async (job) => {
      const result = await step(job);
      if (result.done && job.target === k.id && !waited) {
        waited = true;
        reached();
        await released;
      }
      return result;
    });
    try {
      const queued = await gw.call('POST', `/v1/keys/${k.id}/sync`);
      await gw.runtime.jobs.start();
      await atEnd;
      const added = await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'hsm' });
      expect(added.body).toMatchObject({ id: queued.body.id, status: 'RUNNING' });
      release();
      const job = await finished(gw, queued.body.id);
      expect(job.progress).toMatchObject({ caughtUp: 1 });
      expect(job.notes).toEqual(['hsm: replica with version 1 made']);
    } finally {
      release();
      paused.mockRestore();
    }
    expect((await bindingsOf(k.id)).map((b) => [b.connection, b.syncStatus])).toEqual([['local', 'in_sync'], ['hsm', 'in_sync']]);
  });

  it('adding a replica is refused, changing nothing, on the key\'s own connection, twice, for a signing key whose material cannot be copied, and on a key that is not active', async () => {
    const k = await create({ spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, connection: 'local' });
    expect((await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'local' })).body).toMatchObject({ status: 409, field: 'connection' });
    expect((await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'hsm' })).status).toBe(202);
    expect((await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'hsm' })).body).toMatchObject({ status: 409, field: 'connection' });
    const fixed = await create({ spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'local' });
    expect((await gw.call('POST', `/v1/keys/${fixed.id}/replicas`, { connection: 'hsm' })).body).toMatchObject({ status: 400, field: 'connection', detail: expect.stringContaining('must be exportable') });
    expect((await gw.call('POST', `/v1/keys/${fixed.id}/replicas`, { connection: 'nowhere' })).status).toBe(400);
    expect((await gw.call('POST', `/v1/keys/${fixed.id}/replicas`, { connection: 'hsm', role: 'primary' })).body).toMatchObject({ status: 400 });
    await gw.call('POST', `/v1/keys/${k.id}/suspend`);
    const aes = await create({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local' });
    await gw.call('POST', `/v1/keys/${aes.id}/suspend`);
    expect((await gw.call('POST', `/v1/keys/${aes.id}/replicas`, { connection: 'hsm' })).body).toMatchObject({ status: 409, detail: expect.stringContaining('is SUSPENDED') });
    expect(await bindingsOf(fixed.id)).toHaveLength(1);
    expect(await bindingsOf(aes.id)).toHaveLength(1);
  });
});

describe('lost answers', () => {
  /** The versions a backend holds of a key: the token's objects labelled with its id (a key pair is two), the keystore's rows of its binding. */
  const held = async (keyId: string, connection: string) => {
    if (connection === 'hsm') return labelled(keyId).length;
    const { ref } = (await bindingsOf(keyId)).find((b) => b.connection === connection)!;
    return (await gw.database.db.select({ version: localKeyMaterial.version }).from(localKeyMaterial).where(eq(localKeyMaterial.ref, ref))).length;
  };

  it.each([
    { primary: 'local', replica: 'hsm', spec: 'EC_P256', usage: 'SIGN_VERIFY', objects: 4 },
    { primary: 'hsm', replica: 'local', spec: 'HMAC_256', usage: 'MAC', objects: 2 },
  ])('a sync copy into a $replica same-material replica whose answer was lost is found by its operation id on the retry: two versions there, not three', async ({ primary, replica, spec, usage, objects }) => {
    const k = await create({ spec, usage, exportable: true, connection: primary, replicas: [replica] });
    const provider = gw.runtime.connections.get(replica).provider;
    // The replica's backend is down for the rotation's copy, so the sync job makes version 2; its
    // import acts and the answer is lost. Both are set first: the running job runner takes the job at once.
    const lost = answerLost(provider, 'importKey');
    const back = outage(provider, ['importKey'], { calls: 1 });
    try {
      expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
      expect(await gw.synced(k.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2, notes: [`${replica}: version 2 found made by an interrupted attempt`] });
    } finally {
      back();
      lost.restore();
    }
    expect(lost.calls).toBe(1);
    expect(await held(k.id, replica)).toBe(objects);
    const b = (await bindingsOf(k.id)).find((x) => x.connection === replica)!;
    expect(b.syncStatus).toBe('in_sync');
    // The version found is the one made: it holds the primary's material.
    if (usage === 'SIGN_VERIFY') expect(await backendPublicKey(k.id, b, 2, 'EC_P256')).toEqual(await gatewayPublicKey(k.id, 2));
    else {
      const mac = (await gw.call('POST', `/v1/keys/${k.id}/mac`, { message: b64('m') })).body.mac;
      const onReplica = withCapability(provider, isMacer, 'MAC');
      const [graph] = await loadKeyGraphs(gw.database.db, [k.id]);
      const versionRef = graph!.bindings.find((x) => x.connection === replica)!.versions.get(2)!;
      expect(Buffer.from(await onReplica.mac({ ref: b.ref, versionRef, spec: 'HMAC_256', message: Buffer.from('m') })).toString('base64')).toBe(mac);
    }
  });

  it.each([
    { primary: 'local', replica: 'hsm' },
    { primary: 'hsm', replica: 'local' },
  ])('an independent replica on $replica whose new key\'s answer was lost is found on the retry: one key with one version', async ({ primary, replica }) => {
    const k = await create({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: primary });
    const lost = answerLost(gw.runtime.connections.get(replica).provider, 'createKey');
    try {
      expect((await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: replica })).status).toBe(202);
      expect(await gw.synced(k.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2, notes: [`${replica}: replica with version 1 found made by an interrupted attempt`] });
    } finally {
      lost.restore();
    }
    expect(lost.calls).toBe(1);
    expect(await held(k.id, replica)).toBe(1);
    const sealed = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('both') })).body.ciphertext;
    expect(decodeEnvelope(Buffer.from(sealed, 'base64')).wraps).toHaveLength(2);
  });
});
