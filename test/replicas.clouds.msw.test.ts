// Replicas in the clouds, over their wire fixtures: the rule for signing keys on a backend that
// fixes a key's algorithm (Cloud KMS); a replica added to an existing key in AWS, which imports every
// version as a key of its own; and on AWS, Cloud KMS and Key Vault, a replica whose new key's answer
// is lost is found again on the retry, not made twice.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsKmsFixture } from './fixtures/aws-kms.ts';
import { azureKeyVaultFixture, TENANT } from './fixtures/azure-keyvault.ts';
import { gcpKmsFixture, serviceAccountJson } from './fixtures/gcp-kms.ts';
import { isMacer, withCapability } from '../providers/provider.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { answerLost, outage } from './support/outage.ts';
import { loadKeyGraphs } from '../src/db/queries/keys.ts';

const awsEndpoint = 'https://kms.eu-central-1.amazonaws.com';
const aws = awsKmsFixture(awsEndpoint, 'eu-central-1');
const gcp = gcpKmsFixture();
const vaultUrl = 'https://kmsgw-replicas.vault.azure.net';
const azure = azureKeyVaultFixture(vaultUrl);
const server = setupServer(aws.handler, ...gcp.handlers, ...azure.handlers);
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'service-account.json');
writeFileSync(credentials, serviceAccountJson(), { mode: 0o600 });
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });
Object.assign(process.env, { GOOGLE_APPLICATION_CREDENTIALS: credentials, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' });

let gw: TestGateway;
beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region: 'eu-central-1', endpoint: awsEndpoint },
    { name: 'gcp', provider: 'gcp', project: 'kmsgw-test', location: 'europe-west1', keyRing: 'replicas', protectionLevel: 'SOFTWARE' },
    { name: 'azure', provider: 'azure', vaultUrl },
  ] } });
});
afterAll(async () => {
  await gw?.close();
  server.close();
});

const keyCount = async () => (await gw.call('GET', '/v1/keys?limit=1000')).body.keys.length as number;

describe('same-material replicas in the clouds', () => {
  it('a signing key gets a Cloud KMS replica only pinned to an algorithm Cloud KMS has; refused ones leave nothing behind', async () => {
    const before = await keyCount();
    const unpinned = await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, connection: 'local', replicas: ['gcp'] });
    expect(unpinned.body).toMatchObject({ status: 400, field: 'replicas', detail: expect.stringContaining('fixes a key\'s signing algorithm: pin the key to one') });
    const foreign = await gw.call('POST', '/v1/keys', { spec: 'RSA_2048', usage: 'SIGN_VERIFY', signingAlgorithm: 'RSASSA_PSS_SHA_512', exportable: true, connection: 'local', replicas: ['gcp'] });
    expect(foreign.body).toMatchObject({ status: 400, field: 'replicas', detail: expect.stringContaining('does not sign with RSASSA_PSS_SHA_512') });
    expect(await keyCount()).toBe(before);
    const pinned = await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', signingAlgorithm: 'ECDSA_SHA_256', exportable: true, connection: 'local', replicas: ['gcp'] });
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(201);
    expect(pinned.body.bindings[1]).toMatchObject({ connection: 'gcp', sameMaterial: true });
  });

  it('a replica added in AWS to a key with two versions imports both, each as an AWS key of its own, and MACs as the key does', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC', exportable: true, connection: 'local' })).body;
    const old = (await gw.call('POST', `/v1/keys/${k.id}/mac`, { message: b64('m') })).body.mac;
    expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    const imported = aws.keys.size;
    const added = await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection: 'aws' });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    expect(await gw.synced(k.id)).toMatchObject({ status: 'SUCCEEDED', progress: { caughtUp: 2 } });
    expect((await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings.find((b: { connection: string }) => b.connection === 'aws')).toMatchObject({ role: 'replica', sameMaterial: true, syncStatus: 'in_sync' });
    const made = [...aws.keys.values()].slice(imported);
    expect(made.map((x) => [x.origin, x.state])).toEqual([['EXTERNAL', 'Enabled'], ['EXTERNAL', 'Enabled']]);
    const events = (await gw.call('GET', `/v1/keys/${k.id}/events`)).body.events;
    expect(events.find((e: { type: string }) => e.type === 'REPLICA_ADDED')).toMatchObject({ detail: { connection: 'aws', sameMaterial: true } });
    // The first AWS key holds version 1's material: asked itself, it makes the MAC made before the replica existed.
    const onAws = withCapability(gw.runtime.connections.get('aws').provider, isMacer, 'MAC');
    const ref = `aws:${made[0]!.arn}`;
    expect(Buffer.from(await onAws.mac({ ref, versionRef: ref, spec: 'HMAC_256', message: Buffer.from('m') })).toString('base64')).toBe(old);
  });

  it('a sync copy into an AWS same-material replica whose answer was lost is found by its operation id on the retry, not imported twice', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC', exportable: true, connection: 'local', replicas: ['aws'] })).body;
    const provider = gw.runtime.connections.get('aws').provider;
    // AWS is down for the rotation's copy: the replica misses version 2 and its sync job is queued.
    // The job's import then reaches AWS, and its answer is lost on the way back. Both are set before
    // the rotation, since the running job runner may take the job up as soon as it is queued.
    const lost = answerLost(provider, 'importKey');
    const back = outage(provider, ['importKey'], { calls: 1 });
    try {
      expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
      const job = await gw.synced(k.id);
      expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, notes: [expect.stringContaining('version 2 found made by an interrupted attempt')] });
    } finally {
      back();
      lost.restore();
    }
    expect(lost.calls).toBe(1);
    const mine = [...aws.keys.values()].filter((x) => x.tags.some((t) => t.TagKey === 'kmsgw:key-id' && t.TagValue === k.id));
    expect(mine.map((x) => x.state)).toEqual(['Enabled', 'Enabled']);
    const [graph] = await loadKeyGraphs(gw.database.db, [k.id]);
    expect(graph!.bindings.find((b) => b.connection === 'aws')!.versions.get(2)).toBe(`aws:${mine[1]!.arn}`);
    expect(mine[1]!.tags).toContainEqual({ TagKey: 'kmsgw:operation', TagValue: expect.any(String) });
  });

  // Each cloud's backend keys made for a gateway key, with their versions' states; how the retry finds what was made.
  const lostCreations = [
    {
      connection: 'aws', finds: 'by its operation id', spec: 'AES_256',
      made: (keyId: string) => [...aws.keys.values()].filter((x) => x.tags.some((t) => t.TagKey === 'kmsgw:key-id' && t.TagValue === keyId))
        .map((x) => ({ ref: `aws:${x.arn}`, versions: [x.state] })),
      one: ['Enabled'],
    },
    {
      connection: 'gcp', finds: 'by the CryptoKey name', spec: 'AES_256',
      made: (keyId: string) => [...gcp.state.keys.values()].filter((x) => x.labels['kmsgw-key-id'] === keyId)
        .map((x) => ({ ref: `gcp:${x.name}`, versions: x.versions.map((v) => v.state) })),
      one: ['ENABLED'],
    },
    {
      // A standard vault holds no AES keys: an RSA key's replica.
      connection: 'azure', finds: 'by its operation tag', spec: 'RSA_2048',
      made: (keyId: string) => [...azure.state.keys].filter(([, versions]) => versions.some((v) => v.tags['kmsgw-key-id'] === keyId))
        .map(([name, versions]) => ({ ref: `azure:${vaultUrl}/keys/${name}`, versions: versions.map((v) => (v.enabled ? 'enabled' : 'disabled')) })),
      one: ['enabled'],
    },
  ];

  it.each(lostCreations)('a replica added to a key on $connection, whose new key\'s answer was lost, is found $finds on the retry: one key with one version, not two', async ({ connection, spec, made, one }) => {
    const k = (await gw.call('POST', '/v1/keys', { spec, usage: 'ENCRYPT_DECRYPT', connection: 'local' })).body;
    const lost = answerLost(gw.runtime.connections.get(connection).provider, 'createKey');
    try {
      expect((await gw.call('POST', `/v1/keys/${k.id}/replicas`, { connection })).status).toBe(202);
      const job = await gw.synced(k.id);
      expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, notes: [`${connection}: replica with version 1 found made by an interrupted attempt`] });
    } finally {
      lost.restore();
    }
    expect(lost.calls).toBe(1);
    const mine = made(k.id);
    expect(mine.map((x) => x.versions)).toEqual([one]);
    const bound = (await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings.find((b: { connection: string }) => b.connection === connection);
    expect(bound).toMatchObject({ ref: mine[0]!.ref, syncStatus: 'in_sync' });
  });

  it('an exporter that fails inside the importer\'s call does not open the importer\'s circuit', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true, connection: 'local', replicas: ['aws'] })).body;
    const back = outage(gw.runtime.connections.get('local').provider, ['exportKey']);
    try {
      // More failed copies in a row than the breaker's threshold (10): each rotation's import into AWS fails on the export.
      for (let i = 0; i < 12; i++) expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).status).toBe(200);
    } finally {
      back();
    }
    expect(gw.runtime.connections.get('aws').circuit).toBe('closed');
    const replica = (await gw.call('GET', `/v1/keys/${k.id}`)).body.bindings.find((b: { connection: string }) => b.connection === 'aws');
    expect(replica).toMatchObject({ syncStatus: 'behind' });
  });
});
