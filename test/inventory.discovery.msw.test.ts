// Discovery of Azure Key Vault and Cloud KMS over their wire fixtures (no emulator of either is
// published on the registries this project reaches; see the adapters' READMEs). Keys made straight
// in the "cloud" with its own SDK, as a console or another tool would, appear as observed with spec,
// tags and rotation; the gateway's own keys are matched, never listed twice; a managed key disabled
// there, or given a version the gateway did not make, is drift; an observed key rotated there gets
// the new version; listings page and resume; every backend call waits its turn under the rate limit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyVaultClient } from '../providers/azurekeyvault/client.ts';
import type { AzureKeyVaultProvider } from '../providers/azurekeyvault/index.ts';
import { newGcpKmsClient } from '../providers/gcpkms/client.ts';
import type { GcpKmsProvider } from '../providers/gcpkms/index.ts';
import type { DiscoveredKey, DiscoveryRequest } from '../providers/provider.ts';
import { azureKeyVaultFixture, TENANT } from './fixtures/azure-keyvault.ts';
import { gcpKmsFixture, serviceAccountJson } from './fixtures/gcp-kms.ts';
import { discover, driftOf, observed } from './support/inventory.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

const vaultUrl = 'https://kmsgw-discovery.vault.azure.net';
const ring = { project: 'kmsgw-test', location: 'europe-west1', keyRing: 'discovery' };
const parent = `projects/${ring.project}/locations/${ring.location}/keyRings/${ring.keyRing}`;
const azure = azureKeyVaultFixture(vaultUrl);
const gcp = gcpKmsFixture();
const server = setupServer(...azure.handlers, ...gcp.handlers);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'service-account.json');
writeFileSync(credentials, serviceAccountJson(), { mode: 0o600 });
process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;

// The clouds' own clients, standing where a console would.
const vault = newKeyVaultClient({ vaultUrl });
const cloudKms = newGcpKmsClient();

let gw: TestGateway;
let managedAzure: string;
let managedGcp: string;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'azure', provider: 'azure', vaultUrl },
    { name: 'gcp', provider: 'gcp', ...ring, protectionLevel: 'SOFTWARE' },
  ] } });
  await gw.runtime.jobs.start();
  managedAzure = (await gw.call('POST', '/v1/keys', { spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', connection: 'azure' })).body.id;
  managedGcp = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'gcp' })).body.id;

  await vault.createKey('outside-ec', 'EC', { curve: 'P-256', tags: { team: 'billing' } });
  await vault.createKey('outside-rsa', 'RSA', { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
  azure.state.policies.set('outside-rsa', { lifetimeActions: [{ trigger: { timeAfterCreate: 'P90D' }, action: { type: 'Rotate' } }], attributes: { expiryTime: 'P2Y' } });
  // A key exchange key (BYOK), which only imports: the inventory has no usage for it.
  await vault.createKey('their-kek', 'RSA', { keySize: 2048, keyOps: ['import'] });
  await vault.createKey('outside-deleted', 'EC', { curve: 'P-384' });
  await (await vault.beginDeleteKey('outside-deleted', { intervalInMs: 10 })).pollUntilDone();

  await cloudKms.createCryptoKey({ parent, cryptoKeyId: 'outside-aes', cryptoKey: { purpose: 'ENCRYPT_DECRYPT', labels: { team: 'payments' }, rotationPeriod: { seconds: 90 * 86_400 } } });
  await cloudKms.createCryptoKey({ parent, cryptoKeyId: 'outside-ec', cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } } });
  await cloudKms.createCryptoKey({ parent, cryptoKeyId: 'outside-pss512', cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'RSA_SIGN_PSS_4096_SHA512' } } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  server.close();
});

const byRef = (keys: any[], ref: string) => keys.find((k) => k.bindings[0].ref === ref);
const bindingRef = async (keyId: string) => (await gw.call('GET', `/v1/keys/${keyId}`)).body.bindings[0].ref as string;

describe('Azure Key Vault discovery', { timeout: 60_000 }, () => {
  it('keys made in the vault appear as observed, with spec, usage, tags and rotation; soft-deleted ones as pending deletion; the gateway\'s key once', async () => {
    const job = await discover(gw, 'azure');
    expect(job.progress).toMatchObject({ seen: 5, managed: 1, discovered: 3, unsupported: 1 });
    expect(job.notes).toContain(`azure:${vaultUrl}/keys/their-kek: RSA/2048 key exchange key (import only) has no gateway spec; not recorded`);
    const keys = await observed(gw, 'azure');
    expect(byRef(keys, `azure:${vaultUrl}/keys/outside-ec`)).toMatchObject({ spec: 'EC_P256', usage: 'SIGN_VERIFY', state: 'ACTIVE', tags: { team: 'billing' }, rotationPeriodDays: null, provider: 'azure' });
    expect(byRef(keys, `azure:${vaultUrl}/keys/outside-rsa`)).toMatchObject({ spec: 'RSA_3072', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 90 });
    expect(byRef(keys, `azure:${vaultUrl}/keys/outside-deleted`)).toMatchObject({ spec: 'EC_P384', state: 'PENDING_DELETION' });
    const all = (await gw.call('GET', '/v1/keys?connection=azure&limit=1000')).body.keys as any[];
    expect(all.filter((k) => k.bindings[0].ref === `azure:${vaultUrl}/keys/${managedAzure.replaceAll('_', '-')}`)).toHaveLength(1);
    expect(all.find((k) => k.id === managedAzure).bindings[0].lastSeenAt).not.toBeNull();
  });

  it('a managed key disabled in the vault is drift, resolved when enabled again', async () => {
    const name = managedAzure.replaceAll('_', '-');
    const current = azure.state.keys.get(name)!.at(-1)!;
    current.enabled = false;
    expect((await discover(gw, 'azure')).progress.drift).toBe(1);
    expect(await driftOf(gw, managedAzure)).toMatchObject([{ type: 'DRIFT', detail: { field: 'state', before: 'ENABLED', after: 'DISABLED' } }]);
    current.enabled = true;
    await discover(gw, 'azure');
    expect((await driftOf(gw, managedAzure)).map((d) => d.type)).toEqual(['DRIFT_RESOLVED', 'DRIFT']);
  });

  it('a version made in the vault, not by the gateway, is drift on the managed key (not a new key), resolved when the gateway rotates', async () => {
    const name = managedAzure.replaceAll('_', '-');
    const outside = await vault.createKey(name, 'RSA', { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'], tags: { 'kmsgw-key-id': managedAzure } });
    const before = (await gw.call('GET', '/v1/keys?connection=azure&limit=1000')).body.keys.length;
    await discover(gw, 'azure');
    expect((await gw.call('GET', '/v1/keys?connection=azure&limit=1000')).body.keys).toHaveLength(before);
    const [drift] = await driftOf(gw, managedAzure);
    expect(drift).toMatchObject({ type: 'DRIFT', detail: { field: 'version', after: `azure:${outside.id}` } });
    expect((await gw.call('POST', `/v1/keys/${managedAzure}/rotate`)).status).toBe(200);
    await discover(gw, 'azure');
    expect((await driftOf(gw, managedAzure))[0]).toMatchObject({ type: 'DRIFT_RESOLVED', detail: { field: 'version' } });
  });

  it('an observed key rotated in the vault gets the new version, and uses it once adopted', async () => {
    const key = byRef(await observed(gw, 'azure'), `azure:${vaultUrl}/keys/outside-rsa`);
    await vault.createKey('outside-rsa', 'RSA', { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
    await discover(gw, 'azure');
    expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.currentVersion).toBe(2);
    expect((await driftOf(gw, key.id))[0]).toMatchObject({ type: 'OBSERVED_CHANGE', detail: { before: { currentVersion: 1 }, after: { currentVersion: 2 } } });
    expect((await gw.call('POST', `/v1/keys/${key.id}/adopt`)).status).toBe(200);
    // With the first version disabled in the vault, only the new one can have wrapped and unwrapped this.
    azure.state.keys.get('outside-rsa')![0]!.enabled = false;
    const sealed = await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('adopted') });
    expect(sealed.status).toBe(200);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: sealed.body.ciphertext })).body.plaintext).toBe(b64('adopted'));
  });

  it('a key the credentials may list but not read is noted, not recorded, and the pass goes on; the gateway\'s own, made unreadable, is access drift (not gone) until readable again', async () => {
    await vault.createKey('another-teams', 'EC', { curve: 'P-256' });
    const managed = managedAzure.replaceAll('_', '-');
    // An access policy with "list" and without "get" on these two keys, as another team's vault might have.
    const refused = new RegExp(`^${vaultUrl.replaceAll('.', '\\.')}/keys/(another-teams|${managed})/`);
    server.use(http.get(refused, () => HttpResponse.json({ error: { code: 'Forbidden', message: 'The user, group or application does not have keys get permission' } }, { status: 403 })));
    try {
      const job = await discover(gw, 'azure');
      expect(job.progress.unreadable).toBe(2);
      expect(job.notes).toContain(`azure:${vaultUrl}/keys/another-teams: listed, but these credentials may not read it (PERMISSION_DENIED); not recorded`);
      expect(job.notes).toContain(`azure:${vaultUrl}/keys/${managed}: listed, but these credentials may not read it (PERMISSION_DENIED); drift on its key until they can`);
      expect(byRef(await observed(gw, 'azure'), `azure:${vaultUrl}/keys/another-teams`)).toBeUndefined();
      await discover(gw, 'azure'); // drift is recorded once
    } finally {
      server.resetHandlers();
    }
    const access = (await driftOf(gw, managedAzure)).filter((d) => ['access', 'presence'].includes(d.detail.field));
    expect(access).toMatchObject([{ type: 'DRIFT', detail: { field: 'access', before: 'readable', after: 'refused' } }]);
    await discover(gw, 'azure');
    const after = (await driftOf(gw, managedAzure)).filter((d) => ['access', 'presence'].includes(d.detail.field));
    expect(after.map((d) => [d.type, d.detail.field])).toEqual([['DRIFT_RESOLVED', 'access'], ['DRIFT', 'access']]);
  });
});

describe('Cloud KMS discovery', { timeout: 60_000 }, () => {
  it('CryptoKeys made in the key ring appear as observed; algorithms the gateway cannot use are noted, not recorded', async () => {
    const job = await discover(gw, 'gcp');
    expect(job.progress).toMatchObject({ seen: 4, managed: 1, discovered: 2, unsupported: 1 });
    expect(job.notes).toEqual([expect.stringMatching(/outside-pss512: ASYMMETRIC_SIGN\/RSA_SIGN_PSS_4096_SHA512 has no gateway spec/)]);
    const keys = await observed(gw, 'gcp');
    expect(byRef(keys, `gcp:${parent}/cryptoKeys/outside-aes`)).toMatchObject({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', state: 'ACTIVE', tags: { team: 'payments' }, rotationPeriodDays: 90, provider: 'gcp' });
    expect(byRef(keys, `gcp:${parent}/cryptoKeys/outside-ec`)).toMatchObject({ spec: 'EC_P256', usage: 'SIGN_VERIFY', rotationPeriodDays: null });
    expect(new Date(byRef(keys, `gcp:${parent}/cryptoKeys/outside-ec`).createdAt).getTime()).toBeGreaterThan(Date.now() - 600_000);
  });

  it('a managed key whose version is disabled in Cloud KMS is drift; destroyed by the gateway (its sync job schedules the versions\' destruction), its versions awaiting destruction are not', async () => {
    const ref = await bindingRef(managedGcp);
    const version = gcp.state.keys.get(ref.slice('gcp:'.length))!.versions.at(-1)!;
    version.state = 'DISABLED';
    await discover(gw, 'gcp');
    expect(await driftOf(gw, managedGcp)).toMatchObject([{ type: 'DRIFT', detail: { field: 'state', before: 'ENABLED', after: 'DISABLED' } }]);
    version.state = 'ENABLED';
    await discover(gw, 'gcp');
    expect((await driftOf(gw, managedGcp))[0].type).toBe('DRIFT_RESOLVED');
    // The window ends: the gateway destroys the key, and its sync job has Cloud KMS schedule the versions' destruction.
    await gw.forceState(managedGcp, 'PENDING_DELETION', `, deletion_date = now() - interval '1 minute'`);
    await gw.runtime.services.keys.settle(managedGcp);
    expect((await gw.synced(managedGcp)).status).toBe('SUCCEEDED');
    expect(version.state).toBe('DESTROY_SCHEDULED');
    await discover(gw, 'gcp');
    expect((await driftOf(gw, managedGcp))[0].type).toBe('DRIFT_RESOLVED');
  });
});

describe('listing', () => {
  /** Walks a provider's discovery page by page, counting the calls that waited for the rate limit. */
  async function walk(provider: { discoverKeys(req: DiscoveryRequest): Promise<{ keys: DiscoveredKey[]; next?: string }> }, pageSize: number) {
    const refs: string[] = [];
    let paced = 0;
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await provider.discoverKeys({ cursor, pageSize, pace: async () => { paced++; } });
      refs.push(...page.keys.map((k) => k.ref));
      cursor = page.next;
      pages++;
    } while (cursor);
    return { refs, paced, pages };
  }

  it('Key Vault: small pages resume after the last key done and see every key once; each call waits for the rate limit', async () => {
    for (let i = 0; i < 27; i++) await vault.createKey(`bulk-${String(i).padStart(2, '0')}`, 'EC', { curve: 'P-256' });
    const total = azure.state.keys.size + azure.state.deleted.size;
    const { refs, paced, pages } = await walk(gw.runtime.connections.get('azure').provider as AzureKeyVaultProvider, 10);
    expect(refs).toHaveLength(total);
    expect(new Set(refs).size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 10));
    // Per page: the listings (25 names a call, deleted keys too); per key a read and, unless deleted, its rotation policy.
    const deleted = azure.state.deleted.size;
    const listings = Math.ceil(azure.state.keys.size / 25) + Math.max(1, Math.ceil(deleted / 25));
    expect(paced).toBe(pages * listings + total * 2 - deleted);
  });

  it('Cloud KMS: pages follow its page token and see every key once; each key\'s version listing waits for the rate limit', async () => {
    for (let i = 0; i < 5; i++) await cloudKms.createCryptoKey({ parent, cryptoKeyId: `bulk-${i}`, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const total = [...gcp.state.keys.keys()].filter((name) => name.startsWith(`${parent}/`)).length;
    const { refs, paced, pages } = await walk(gw.runtime.connections.get('gcp').provider as GcpKmsProvider, 3);
    expect(new Set(refs).size).toBe(total);
    expect(refs).toHaveLength(total);
    expect(pages).toBe(Math.ceil(total / 3));
    expect(paced).toBe(total);
  });
});
