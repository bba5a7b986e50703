// The GCP adapter under faults and at the wire, over mocked HTTP (msw): the Cloud KMS fixture for
// the normal path, with throttling, 5xx, denial, timeouts and malformed replies put in front of it —
// and the core's retries, deadlines and error map around them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KmsError } from '../../src/errors.ts';
import { Connection } from '../../src/routing/connection.ts';
import { GcpKmsProvider } from '../../providers/gcpkms/index.ts';
import { newGcpKmsClient } from '../../providers/gcpkms/client.ts';
import { gcpKmsFixture, serviceAccountJson } from '../fixtures/gcp-kms.ts';
import { holder } from '../support/import.ts';
import { newKeyPairSync } from '../../src/crypto/keypair.ts';

const fixture = gcpKmsFixture();
const seen: { method: string; url: string; body: string }[] = [];
const server = setupServer(...fixture.handlers);
server.events.on('request:start', async ({ request }) => {
  if (request.url.startsWith('https://cloudkms.googleapis.com/')) seen.push({ method: request.method, url: decodeURIComponent(request.url), body: await request.clone().text() });
});
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'service-account.json');
writeFileSync(credentials, serviceAccountJson(), { mode: 0o600 });
process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;

const ring = { project: 'kmsgw-test', location: 'europe-west1', keyRing: 'faults', protectionLevel: 'SOFTWARE' as const };
const connection = (timeoutMs = 2_000) => new Connection('gcp-test', new GcpKmsProvider(newGcpKmsClient(), ring, 5), {
  timeoutMs, resilience: { backoffInitialMs: 1, backoffMaxMs: 5, breakerThreshold: 50, deadlineMs: 5_000 },
});
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as KmsError);
let n = 0;
const aesKey = (c: Connection) => c.call('createKey', (p) => p.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: `key_01jdgcpfault${String(++n).padStart(15, '0')}` }));
const encrypt = (c: Connection, k: { ref: string; versionRef: string }) => c.call('encrypt', (p) => p.encrypt({ ...k, spec: 'AES_256', plaintext: new Uint8Array(32).fill(7), aad: Buffer.from('aad') }));
const KMS = /^https:\/\/cloudkms\.googleapis\.com\/v1\/.*:encrypt/;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => { server.resetHandlers(); seen.length = 0; });
afterAll(() => server.close());

describe('import', () => {
  const path = (r: { method: string; url: string }) => `${r.method} ${r.url.split('/v1/')[1]!.split('?')[0]!.replace(/importJobs\/kmsgw-[0-9a-f-]+/, 'importJobs/J')}`;

  it('one import job, awaited until ACTIVE, serves every import; each imported version is awaited until Cloud KMS has taken it in', async () => {
    const c = connection();
    const pair = newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' });
    const key = { spec: 'EC_P256' as const, usage: 'SIGN_VERIFY' as const, exportable: true, keyId: 'key_01jdgcpimport000000000000001', signingAlgorithm: 'ECDSA_SHA_256' as const };
    const first = await c.call('importKey', (p) => (p as GcpKmsProvider).importKey({ ...key, wrap: holder(pair.pkcs8) }));
    const second = await c.call('importKey', (p) => (p as GcpKmsProvider).importKey({ ...key, ref: first.ref, wrap: holder(newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' }).pkcs8) }));
    const ring = 'projects/kmsgw-test/locations/europe-west1/keyRings/faults';
    const k = first.ref.slice('gcp:'.length);
    expect(seen.map(path)).toEqual([
      `POST ${ring}/importJobs`, `GET ${ring}/importJobs/J`, `GET ${ring}/importJobs/J`,
      `POST ${ring}/cryptoKeys`, `POST ${k}/cryptoKeyVersions:import`, `GET ${k}/cryptoKeyVersions/1`, `GET ${k}/cryptoKeyVersions/1`,
      `POST ${k}/cryptoKeyVersions:import`, `GET ${k}/cryptoKeyVersions/2`, `GET ${k}/cryptoKeyVersions/2`,
    ]);
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ importMethod: 3, protectionLevel: 1 });
    expect(second.versionRef).toBe(`${first.ref}/cryptoKeyVersions/2`);
    expect(Buffer.from(await c.call('getPublicKey', (p) => (p as GcpKmsProvider).getPublicKey(first)))).toEqual(pair.spki);
  });

  it('material Cloud KMS does not take fails the import (IMPORT_FAILED, with its reason); a retry takes up the key it left empty', async () => {
    const c = connection();
    const key = { spec: 'AES_256' as const, usage: 'ENCRYPT_DECRYPT' as const, exportable: true, keyId: 'key_01jdgcpimport000000000000002' };
    const err = await failure(c.call('importKey', (p) => (p as GcpKmsProvider).importKey({ ...key, wrap: holder(Buffer.alloc(16)) })));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('IMPORT_FAILED') });
    const made = await c.call('importKey', (p) => (p as GcpKmsProvider).importKey({ ...key, wrap: holder(Buffer.alloc(32, 1)) }));
    expect(made.versionRef).toMatch(/cryptoKeys\/key_01jdgcpimport000000000000002\/cryptoKeyVersions\/2$/);
    expect(fixture.state.keys.get(made.ref.slice('gcp:'.length))!.versions.map((v) => v.state)).toEqual(['IMPORT_FAILED', 'ENABLED']);
    // An RSA signing key not pinned to an algorithm Cloud KMS has is refused before anything is sent.
    seen.length = 0;
    const unpinned = await failure(c.call('importKey', (p) => (p as GcpKmsProvider).importKey({
      spec: 'RSA_2048', usage: 'SIGN_VERIFY', exportable: true, keyId: 'key_01jdgcpimport000000000000003', wrap: holder(Buffer.alloc(1)),
    })));
    expect(unpinned).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('must be pinned') });
    expect(seen).toEqual([]);
  });
});

describe('wire format', () => {
  it('a key is created without a version, labelled with the gateway id, then given its first version', async () => {
    const k = await aesKey(connection());
    expect(seen.map((r) => `${r.method} ${r.url.split('/v1/')[1]!.split('?')[0]}`)).toEqual([
      'POST projects/kmsgw-test/locations/europe-west1/keyRings/faults/cryptoKeys',
      `POST ${k.ref.slice('gcp:'.length)}/cryptoKeyVersions`,
    ]);
    expect(seen[0]!.url).toContain('skipInitialVersionCreation=true');
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ purpose: 1, versionTemplate: { algorithm: 1, protectionLevel: 1 }, labels: { 'kmsgw-key-id': expect.stringMatching(/^key_/) } });
  });

  it('an asymmetric version is waited for until Cloud KMS has generated it', async () => {
    const c = connection();
    const k = await c.call('createKey', (p) => p.createKey({ spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: false, keyId: 'key_01jdgcpfaultec00000000000000', signingAlgorithm: 'ECDSA_SHA_256' }));
    expect(seen.filter((r) => r.method === 'GET' && r.url.split('?')[0]!.endsWith(k.versionRef.slice('gcp:'.length))).length).toBeGreaterThanOrEqual(2);
    expect(fixture.state.keys.get(k.ref.slice('gcp:'.length))!.versions[0]!.state).toBe('ENABLED');
  });

  it('encrypt names the version and binds the wrap AAD as additionalAuthenticatedData', async () => {
    const c = connection();
    const k = await aesKey(c);
    seen.length = 0;
    await encrypt(c, k);
    expect(seen[0]!.url).toContain(`${k.versionRef.slice('gcp:'.length)}:encrypt`);
    expect(JSON.parse(seen[0]!.body)).toEqual({ plaintext: Buffer.alloc(32, 7).toString('base64'), additionalAuthenticatedData: Buffer.from('aad').toString('base64') });
  });
});

describe('faults', () => {
  it('throttling (429 RESOURCE_EXHAUSTED) is retried until it passes', async () => {
    const c = connection();
    const k = await aesKey(c);
    let throttled = 0;
    server.use(http.post(KMS, () => (++throttled <= 2 ? HttpResponse.json({ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }, { status: 429 }) : undefined)));
    await encrypt(c, k);
    expect(throttled).toBe(3);
  });

  it('a 503 on an operation safe to repeat is retried; a 403 is PERMISSION_DENIED at once', async () => {
    const c = connection();
    const k = await aesKey(c);
    let unavailable = 0;
    server.use(http.post(KMS, () => (++unavailable === 1 ? HttpResponse.json({ error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } }, { status: 503 }) : undefined)));
    await encrypt(c, k);
    expect(unavailable).toBe(2);
    let denied = 0;
    server.use(http.post(KMS, () => { denied++; return HttpResponse.json({ error: { code: 403, message: "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied", status: 'PERMISSION_DENIED' } }, { status: 403 }); }));
    expect(await failure(encrypt(c, k))).toMatchObject({ code: 'PERMISSION_DENIED', provider: 'gcp', op: 'encrypt' });
    expect(denied).toBe(1);
  });

  it('Cloud KMS slower than the attempt timeout is DEADLINE_EXCEEDED', async () => {
    const c = connection(150);
    const k = await aesKey(c);
    server.use(http.post(KMS, async () => { await delay(400); return undefined; }));
    expect(await failure(encrypt(c, k))).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('a reply without a ciphertext is an error of the call, not a crash', async () => {
    const c = connection();
    const k = await aesKey(c);
    server.use(http.post(KMS, () => HttpResponse.json({ name: 'x' })));
    const err = await failure(encrypt(c, k));
    expect(err).toMatchObject({ name: 'KmsError', provider: 'gcp', code: 'INTERNAL', status: 500 });
  });
});

describe('deletion', () => {
  it('destroying a key schedules the destruction of every version; doing it twice is harmless', async () => {
    const c = connection();
    const k = await aesKey(c);
    const v2 = await c.call('createVersion', (p) => p.createVersion({ ref: k.ref, spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', keyId: 'x', exportable: false }));
    const destroy = () => c.call('destroyKey', (p) => p.destroyKey({ ref: k.ref, versionRefs: [k.versionRef, v2.versionRef] }));
    await destroy();
    await destroy();
    expect(fixture.state.keys.get(k.ref.slice('gcp:'.length))!.versions.map((v) => v.state)).toEqual(['DESTROY_SCHEDULED', 'DESTROY_SCHEDULED']);
    expect((await failure(encrypt(c, k))).code).toBe('FAILED_PRECONDITION');
  });
});

describe('tags', () => {
  it('are the CryptoKey\'s labels, written with an update mask of labels alone; others\' labels stay, the gateway\'s removed ones go, and tags outside the label grammar are left out', async () => {
    const c = connection();
    const k = await aesKey(c);
    const key = fixture.state.keys.get(k.ref.slice('gcp:'.length))!;
    key.labels.owner = 'secops';
    const setTags = (tags: Record<string, string>, previous: Record<string, string>) =>
      c.call('setTags', (p) => (p as GcpKmsProvider).setTags({ ref: k.ref, versionRefs: [k.versionRef], tags, previous }));
    seen.length = 0;
    expect(await setTags({ team: 'payments', Env: 'prod', note: 'Mixed Case' }, {})).toEqual({ team: 'payments' });
    expect(seen.map((r) => `${r.method} ${r.url.split('?')[0]!.split('/cryptoKeys/')[1]}`)).toEqual([`GET ${k.ref.split('/cryptoKeys/')[1]}`, `PATCH ${k.ref.split('/cryptoKeys/')[1]}`]);
    expect(seen[1]!.url).toContain('updateMask=labels');
    expect(key.labels).toEqual({ 'kmsgw-key-id': expect.any(String), owner: 'secops', team: 'payments' });
    await setTags({ env: 'test' }, { team: 'payments', Env: 'prod', note: 'Mixed Case' });
    expect(key.labels).toEqual({ 'kmsgw-key-id': expect.any(String), owner: 'secops', env: 'test' });
  });

  it('keep within Cloud KMS\'s 64 labels a key: others\' count, and what does not fit is left out in name order', async () => {
    const c = connection();
    const k = await aesKey(c);
    const key = fixture.state.keys.get(k.ref.slice('gcp:'.length))!;
    for (let i = 0; i < 60; i++) key.labels[`others-${i}`] = 'x';
    const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`mine-${i}`, 'v']));
    const written = await c.call('setTags', (p) => (p as GcpKmsProvider).setTags({ ref: k.ref, versionRefs: [k.versionRef], tags, previous: {} }));
    // 64 = the gateway's id label, the others' 60 and 3 of the 10.
    expect(Object.keys(written)).toEqual(['mine-0', 'mine-1', 'mine-2']);
    expect(Object.keys(key.labels)).toHaveLength(64);
  });
});
