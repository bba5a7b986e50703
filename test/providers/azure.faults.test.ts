// The Azure adapter under faults and at the wire, over mocked HTTP (msw): the Key Vault fixture for
// the normal path, with throttling, 5xx, denial, timeouts, malformed replies and a refused
// credential put in front of it — and the core's retries, deadlines and error map around them.
import { ClientSecretCredential } from '@azure/identity';
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KmsError } from '../../src/errors.ts';
import { Connection } from '../../src/routing/connection.ts';
import { AzureKeyVaultProvider } from '../../providers/azurekeyvault/index.ts';
import { newKeyVaultClient } from '../../providers/azurekeyvault/client.ts';
import { azureKeyVaultFixture, TENANT } from '../fixtures/azure-keyvault.ts';
import { holder } from '../support/import.ts';
import { newKeyPairSync } from '../../src/crypto/keypair.ts';

const VAULT = 'https://kmsgw-faults.vault.azure.net';
const fixture = azureKeyVaultFixture(VAULT);
const seen: { method: string; url: string; authorization: string | null; body: string }[] = [];
const server = setupServer(...fixture.handlers);
server.events.on('request:start', async ({ request }) => {
  if (request.url.startsWith(VAULT)) seen.push({ method: request.method, url: request.url, authorization: request.headers.get('authorization'), body: await request.clone().text() });
});
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });

function connection(timeoutMs = 2_000, provider = new AzureKeyVaultProvider(newKeyVaultClient({ vaultUrl: VAULT }), VAULT)) {
  return new Connection('azure-test', provider, { timeoutMs, resilience: { backoffInitialMs: 1, backoffMaxMs: 5, breakerThreshold: 50, deadlineMs: 5_000 } });
}
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as KmsError);
let n = 0;
async function rsaKey(c: Connection) {
  return c.call('createKey', (p) => p.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: `key_01jdfault${String(++n).padStart(16, '0')}` }));
}
const wrap = (c: Connection, k: { ref: string; versionRef: string }) => c.call('encrypt', (p) => p.encrypt({ ...k, spec: 'RSA_2048', plaintext: new Uint8Array(32).fill(7), aad: Buffer.from('aad') }));
const unwrap = (c: Connection, k: { ref: string; versionRef: string }, ciphertext: Uint8Array) => c.call('decrypt', (p) => p.decrypt({ ...k, spec: 'RSA_2048', ciphertext, aad: Buffer.from('aad') }));

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => { server.resetHandlers(); seen.length = 0; });
afterAll(() => server.close());

describe('import', () => {
  const base = { usage: 'SIGN_VERIFY' as const, exportable: true, keyId: 'key_01jdazureimport0000000000001' };

  it('puts the private key to the vault as a JWK with the key\'s operations and gateway tag; a next version goes under the same name', async () => {
    const c = connection();
    const [a, b] = [newKeyPairSync({ type: 'ec', namedCurve: 'secp256k1' }), newKeyPairSync({ type: 'ec', namedCurve: 'secp256k1' })];
    const first = await c.call('importKey', (p) => (p as AzureKeyVaultProvider).importKey({ ...base, spec: 'EC_SECP256K1', wrap: holder(a.pkcs8) }));
    const second = await c.call('importKey', (p) => (p as AzureKeyVaultProvider).importKey({ ...base, spec: 'EC_SECP256K1', ref: first.ref, wrap: holder(b.pkcs8) }));
    const puts = seen.filter((r) => r.method === 'PUT' && r.authorization);
    expect(puts.map((r) => new URL(r.url).pathname)).toEqual(['/keys/key-01jdazureimport0000000000001', '/keys/key-01jdazureimport0000000000001']);
    expect(JSON.parse(puts[0]!.body)).toMatchObject({ key: { kty: 'EC', crv: 'P-256K', key_ops: ['sign', 'verify'], d: expect.any(String) }, tags: { 'kmsgw-key-id': base.keyId } });
    expect(second.ref).toBe(first.ref);
    for (const [made, pair] of [[first, a], [second, b]] as const) {
      expect(Buffer.from(await c.call('getPublicKey', (p) => (p as AzureKeyVaultProvider).getPublicKey({ ...made, spec: 'EC_SECP256K1' })))).toEqual(pair.spki);
    }
  });

  it('refuses material that is not of the key\'s spec, and a spec a standard vault cannot hold, sending nothing to the vault', async () => {
    const c = connection();
    const rsa = newKeyPairSync({ type: 'rsa', modulusLength: 2048 });
    expect(await failure(c.call('importKey', (p) => (p as AzureKeyVaultProvider).importKey({ ...base, spec: 'RSA_3072', wrap: holder(rsa.pkcs8) }))))
      .toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('not a RSA_3072 private key') });
    expect(await failure(c.call('importKey', (p) => (p as AzureKeyVaultProvider).importKey({ ...base, spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', wrap: holder(Buffer.alloc(32)) }))))
      .toMatchObject({ code: 'UNIMPLEMENTED' });
    expect(seen.filter((r) => r.method === 'PUT')).toEqual([]);
  });
});

describe('wire format', () => {
  it('the first call meets the bearer challenge, then carries the token from the credential chain', async () => {
    const c = connection(2_000, new AzureKeyVaultProvider(newKeyVaultClient({ vaultUrl: VAULT }), VAULT));
    await rsaKey(c);
    expect(seen.map((r) => r.authorization === null ? 'anonymous' : r.authorization.split(' ')[0])).toEqual(['anonymous', 'Bearer']);
    expect(seen[1]!.url).toMatch(/\/keys\/key-01jdfault\d+\/create\?api%2Dversion=\d{4}-\d\d-\d\d/);
    expect(JSON.parse(seen[1]!.body)).toMatchObject({ kty: 'RSA', key_size: 2048, key_ops: ['wrapKey', 'unwrapKey'], tags: { 'kmsgw-key-id': expect.stringMatching(/^key_/) } });
  });

  it('a DEK is wrapped remotely with RSA-OAEP-256 and base64url, under the version\'s key URL', async () => {
    const c = connection();
    const k = await rsaKey(c);
    seen.length = 0;
    await wrap(c, k);
    const call = seen.find((r) => r.url.includes('/wrapkey'))!;
    expect(call.url.startsWith(`${k.versionRef.slice('azure:'.length)}/wrapkey`)).toBe(true);
    expect(JSON.parse(call.body)).toEqual({ alg: 'RSA-OAEP-256', value: Buffer.alloc(32, 7).toString('base64url') });
  });
});

describe('faults', () => {
  it('throttling (429) is retried until it passes', async () => {
    const c = connection();
    const k = await rsaKey(c);
    const ct = await wrap(c, k);
    let throttled = 0;
    server.use(http.post(`${VAULT}/keys/:name/:version/unwrapkey`, () => (++throttled <= 2 ? HttpResponse.json({ error: { code: 'Throttled', message: 'Rate limit exceeded' } }, { status: 429 }) : undefined)));
    expect(Buffer.from(await unwrap(c, k, ct))).toEqual(Buffer.alloc(32, 7));
    expect(throttled).toBe(3);
  });

  it('a 429 with Retry-After is retried after the time Key Vault asked for, and the last one\'s Retry-After reaches the caller', async () => {
    const k = await rsaKey(connection());
    const paced = new Connection('azure-paced', new AzureKeyVaultProvider(newKeyVaultClient({ vaultUrl: VAULT }), VAULT), {
      timeoutMs: 2_000, resilience: { maxAttempts: 2, backoffInitialMs: 1, backoffMaxMs: 5_000, deadlineMs: 10_000 },
    });
    const at: number[] = [];
    server.use(http.post(`${VAULT}/keys/:name/:version/wrapkey`, () => {
      at.push(performance.now());
      return HttpResponse.json({ error: { code: 'Throttled', message: 'Rate limit exceeded' } }, { status: 429, headers: { 'retry-after': '1' } });
    }));
    const err = await failure(wrap(paced, k));
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', retryAfter: 1 });
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950);
  });

  it('a 503 on an operation safe to repeat is retried; a 403 is PERMISSION_DENIED at once', async () => {
    const c = connection();
    const k = await rsaKey(c);
    let unavailable = 0;
    server.use(http.post(`${VAULT}/keys/:name/:version/wrapkey`, () => (++unavailable === 1 ? HttpResponse.json({ error: { code: 'ServiceUnavailable', message: 'try later' } }, { status: 503 }) : undefined)));
    await wrap(c, k);
    expect(unavailable).toBe(2);
    let denied = 0;
    server.use(http.post(`${VAULT}/keys/:name/:version/wrapkey`, () => { denied++; return HttpResponse.json({ error: { code: 'Forbidden', message: 'The user does not have keys wrapKey permission' } }, { status: 403 }); }));
    expect(await failure(wrap(c, k))).toMatchObject({ code: 'PERMISSION_DENIED', provider: 'azure', op: 'encrypt' });
    expect(denied).toBe(1);
  });

  it('a vault slower than the attempt timeout is DEADLINE_EXCEEDED', async () => {
    const c = connection(150);
    const k = await rsaKey(c);
    server.use(http.post(`${VAULT}/keys/:name/:version/wrapkey`, async () => { await delay(400); return undefined; }));
    expect(await failure(c.call('encrypt', (p) => p.encrypt({ ...k, spec: 'RSA_2048', plaintext: new Uint8Array(32), aad: Buffer.alloc(0) })))).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('a malformed reply is an error of the call, not a crash', async () => {
    const c = connection();
    const k = await rsaKey(c);
    server.use(http.post(`${VAULT}/keys/:name/:version/wrapkey`, () => new HttpResponse('<html>proxy error</html>', { status: 200, headers: { 'content-type': 'text/html' } })));
    const err = await failure(wrap(c, k));
    expect(err.name).toBe('KmsError');
    expect(err.provider).toBe('azure');
  });

  it('a credential the directory refuses is UNAUTHENTICATED, and the secret is not in the error', async () => {
    const tenant = '00000000-0000-0000-0000-0000000000cc';
    server.use(http.post(`https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`, () =>
      HttpResponse.json({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }, { status: 401 })));
    server.use(http.get(`https://login.microsoftonline.com/${tenant}/v2.0/.well-known/openid-configuration`, () => HttpResponse.json({
      token_endpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`, authorization_endpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/authorize`,
      issuer: `https://login.microsoftonline.com/${tenant}/v2.0`, jwks_uri: `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`, response_types_supported: ['code'],
    })));
    const credential = new ClientSecretCredential(tenant, 'client', 'a-wrong-secret-value');
    const provider = new AzureKeyVaultProvider(newKeyVaultClient({ vaultUrl: VAULT, credential }), VAULT);
    const err = await failure(rsaKey(connection(2_000, provider)));
    expect(err).toMatchObject({ code: 'UNAUTHENTICATED', provider: 'azure' });
    expect(JSON.stringify({ message: err.message, cause: String(err.cause) })).not.toContain('a-wrong-secret-value');
  });
});

describe('deletion', () => {
  it('destroying a key deletes every version in the vault and purges it', async () => {
    const c = connection();
    const k = await rsaKey(c);
    const v2 = await c.call('createVersion', (p) => p.createVersion({ ref: k.ref, spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', keyId: 'x', exportable: false }));
    const name = k.ref.split('/keys/')[1]!;
    expect(fixture.state.keys.get(name)).toHaveLength(2);
    await c.call('destroyKey', (p) => p.destroyKey({ ref: k.ref, versionRefs: [k.versionRef, v2.versionRef] }));
    expect(fixture.state.keys.has(name)).toBe(false);
    expect(fixture.state.deleted.has(name)).toBe(false);
    expect((await failure(wrap(c, k))).code).toBe('NOT_FOUND');
    // Repeated by a sync step whose record did not commit: nothing left to do, and no error.
    await c.call('destroyKey', (p) => p.destroyKey({ ref: k.ref, versionRefs: [k.versionRef, v2.versionRef] }));
  });
});

describe('tags', () => {
  const setTags = (c: Connection, req: { ref: string; versionRefs: string[]; tags: Record<string, string>; previous: Record<string, string> }) =>
    c.call('setTags', (p) => (p as AzureKeyVaultProvider).setTags(req));

  it('go on every version; a new version starts with them; others\' tags stay, the gateway\'s own removed ones go, and no more than Key Vault\'s 15 are asked for', async () => {
    const c = connection();
    const k = await rsaKey(c);
    const name = k.ref.split('/keys/')[1]!;
    const v2 = await c.call('createVersion', (p) => p.createVersion({ ref: k.ref, spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', keyId: 'x', exportable: false }));
    const versions = () => fixture.state.keys.get(name)!.map((v) => v.tags);
    fixture.state.keys.get(name)![0]!.tags.owner = 'secops';
    expect(await setTags(c, { ref: k.ref, versionRefs: [k.versionRef, v2.versionRef], tags: { team: 'payments', env: 'prod' }, previous: {} })).toEqual({ team: 'payments', env: 'prod' });
    expect(versions()).toEqual([
      { 'kmsgw-key-id': expect.any(String), owner: 'secops', team: 'payments', env: 'prod' },
      { 'kmsgw-key-id': 'x', team: 'payments', env: 'prod' },
    ]);
    await setTags(c, { ref: k.ref, versionRefs: [k.versionRef, v2.versionRef], tags: { env: 'test' }, previous: { team: 'payments', env: 'prod' } });
    expect(versions()).toEqual([{ 'kmsgw-key-id': expect.any(String), owner: 'secops', env: 'test' }, { 'kmsgw-key-id': 'x', env: 'test' }]);
    const v3 = await c.call('createVersion', (p) => p.createVersion({ ref: k.ref, spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', keyId: 'x', exportable: false, tags: { env: 'test' } }));
    expect(versions()[2]).toEqual({ 'kmsgw-key-id': 'x', env: 'test' });

    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${String(i).padStart(2, '0')}`, 'x']));
    const written = await setTags(c, { ref: k.ref, versionRefs: [v3.versionRef], tags: many, previous: { env: 'test' } });
    expect(Object.keys(written)).toHaveLength(14);
    expect(Object.keys(versions()[2]!)).toHaveLength(15);
  });
});
