// One curl sequence, every provider: create, encrypt, decrypt, rotate, decrypt the old envelope, sign
// and verify, through the same gateway with `connection` set to each backend — the local store,
// AWS's emulator (moto), SoftHSM2, and the Azure and GCP wire fixtures. Statuses and response
// shapes must be identical; only values differ.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureKeyVaultFixture, TENANT } from '../fixtures/azure-keyvault.ts';
import { gcpKmsFixture, serviceAccountJson } from '../fixtures/gcp-kms.ts';
import { b64, startGateway, type TestGateway } from '../support/gateway.ts';
import { softhsmConnection } from '../support/softhsm.ts';

const vaultUrl = 'https://kmsgw-shapes.vault.azure.net';
const server = setupServer(...azureKeyVaultFixture(vaultUrl).handlers, ...gcpKmsFixture().handlers);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'service-account.json');
writeFileSync(credentials, serviceAccountJson(), { mode: 0o600 });
process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;
const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');

/** The encryption spec each backend has (a standard Key Vault holds no AES keys). */
const connections: Record<string, string> = { local: 'AES_256', aws: 'AES_256', hsm: 'AES_256', azure: 'RSA_2048', gcp: 'AES_256' };

let gw: TestGateway;
beforeAll(async () => {
  // The emulator and the token are real and on loopback; only the clouds without one are mocked.
  server.listen({ onUnhandledRequest: (req, print) => { if (new URL(req.url).hostname !== '127.0.0.1') print.error(); } });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'us-east-1', endpoint },
    softhsmConnection('hsm'),
    { name: 'azure', provider: 'azure', vaultUrl },
    { name: 'gcp', provider: 'gcp', project: 'kmsgw-test', location: 'europe-west1', keyRing: 'shapes' },
  ] } });
});
afterAll(async () => { await gw?.close(); server.close(); });

/** Status and the shape of a body: its keys, recursively, with values reduced to their types. */
function shape(res: { status: number; body: unknown }): unknown {
  const of = (v: unknown): unknown => (Array.isArray(v) ? v.map(of) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort().map(([k, x]) => [k, of(x)])) : typeof v);
  return { status: res.status, body: of(res.body) };
}

async function session(connection: string) {
  const steps: Record<string, unknown> = {};
  const created = await gw.call('POST', '/v1/keys', { spec: connections[connection], usage: 'ENCRYPT_DECRYPT', connection });
  steps.create = shape(created);
  const id = created.body.id;
  const enc = await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('hello'), context: { app: 'shapes' } });
  steps.encrypt = shape(enc);
  const dec = await gw.call('POST', '/v1/decrypt', { ciphertext: enc.body.ciphertext, context: { app: 'shapes' } });
  steps.decrypt = shape(dec);
  expect(dec.body.plaintext, connection).toBe(b64('hello'));
  steps.rotate = shape(await gw.call('POST', `/v1/keys/${id}/rotate`));
  const old = await gw.call('POST', '/v1/decrypt', { ciphertext: enc.body.ciphertext, context: { app: 'shapes' } });
  steps.decryptOld = shape(old);
  expect(old.body, connection).toMatchObject({ plaintext: b64('hello'), version: 1 });
  const signer = await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection, signingAlgorithm: 'ECDSA_SHA_256' });
  const sig = await gw.call('POST', `/v1/keys/${signer.body.id}/sign`, { message: b64('signed'), algorithm: 'ECDSA_SHA_256' });
  steps.sign = shape(sig);
  const verified = await gw.call('POST', `/v1/keys/${signer.body.id}/verify`, { message: b64('signed'), algorithm: 'ECDSA_SHA_256', signature: sig.body.signature });
  steps.verify = shape(verified);
  expect(verified.body.valid, connection).toBe(true);
  return steps;
}

describe('the same sequence on every provider', () => {
  it('answers with identical statuses and response shapes', async () => {
    const reference = await session('local');
    for (const connection of Object.keys(connections).filter((c) => c !== 'local')) {
      expect(await session(connection), connection).toEqual(reference);
    }
  });
});
