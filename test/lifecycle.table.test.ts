// Every cell of the state × operation table, through the HTTP API: a key forced into each state,
// each operation tried; allowed cells answer 2xx, refused ones 409 FAILED_PRECONDITION.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyStates, type KeyState } from '../src/keys/lifecycle.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

// Written out independently of src/keys/lifecycle.ts, so a change to the table breaks this test.
const P = 'PRE_ACTIVE', A = 'ACTIVE', S = 'SUSPENDED', D = 'DEACTIVATED', C = 'COMPROMISED', PD = 'PENDING_DELETION';
const expected: Record<string, KeyState[]> = {
  ENCRYPT: [A], GENERATE_DATA_KEY: [A], SIGN: [A], MAC: [A], WRAP: [A], ROTATE: [A],
  DECRYPT: [A, S, D, C], VERIFY: [A, S, D, C], VERIFY_MAC: [A, S, D, C], UNWRAP: [A, S, D, C], GET_PUBLIC_KEY: [A, S, D, C],
  EXPORT: [A, S, D],
  UPDATE: [P, A, S, D, C, PD],
};

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

interface Fixture { aes: string; ec: string; hmac: string; kek: string; ciphertext: string; signature: string; mac: string; wrapped: string }

const importerPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

async function fixture(): Promise<Fixture> {
  const create = async (spec: string, usage: string, exportable = false) => (await gw.call('POST', '/v1/keys', { spec, usage, exportable })).body.id as string;
  const [aes, ec, hmac, kek] = await Promise.all([
    create('AES_256', 'ENCRYPT_DECRYPT'), create('EC_P256', 'SIGN_VERIFY'), create('HMAC_256', 'MAC'), create('AES_256', 'WRAP_UNWRAP', true),
  ]);
  const ciphertext = (await gw.call('POST', `/v1/keys/${aes}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
  const signature = (await gw.call('POST', `/v1/keys/${ec}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_256' })).body.signature;
  const mac = (await gw.call('POST', `/v1/keys/${hmac}/mac`, { message: b64('m') })).body.mac;
  const wrapped = (await gw.call('POST', `/v1/keys/${kek}/wrap`, { key: b64('k'.repeat(32)) })).body.wrappedKey;
  return { aes, ec, hmac, kek, ciphertext, signature, mac, wrapped };
}

const operations: Record<string, (f: Fixture) => [string, string, unknown?]> = {
  ENCRYPT: (f) => ['POST', `/v1/keys/${f.aes}/encrypt`, { plaintext: b64('x') }],
  GENERATE_DATA_KEY: (f) => ['POST', `/v1/keys/${f.aes}/data-key`, {}],
  SIGN: (f) => ['POST', `/v1/keys/${f.ec}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_256' }],
  MAC: (f) => ['POST', `/v1/keys/${f.hmac}/mac`, { message: b64('m') }],
  WRAP: (f) => ['POST', `/v1/keys/${f.kek}/wrap`, { key: b64('k'.repeat(32)) }],
  ROTATE: (f) => ['POST', `/v1/keys/${f.aes}/rotate`],
  DECRYPT: (f) => ['POST', '/v1/decrypt', { ciphertext: f.ciphertext }],
  VERIFY: (f) => ['POST', `/v1/keys/${f.ec}/verify`, { message: b64('m'), algorithm: 'ECDSA_SHA_256', signature: f.signature }],
  VERIFY_MAC: (f) => ['POST', `/v1/keys/${f.hmac}/verify-mac`, { message: b64('m'), mac: f.mac }],
  UNWRAP: (f) => ['POST', `/v1/keys/${f.kek}/unwrap`, { wrappedKey: f.wrapped }],
  GET_PUBLIC_KEY: (f) => ['GET', `/v1/keys/${f.ec}/public-key`],
  EXPORT: (f) => ['POST', `/v1/keys/${f.kek}/export`, { scheme: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKey: importerPem }],
  UPDATE: (f) => ['PATCH', `/v1/keys/${f.aes}`, { tags: { touched: 'yes' } }],
};

describe.each(keyStates)('a key in state %s', (state) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
    // A PRE_ACTIVE key with a past activation date is ACTIVE by its dates; clear the date to hold it.
    for (const id of [f.aes, f.ec, f.hmac, f.kek]) await gw.forceState(id, state, state === 'PRE_ACTIVE' ? ', activation_date = null' : '');
  });

  it.each(Object.keys(operations))(`%s is allowed exactly when the table says so`, async (op) => {
    const [method, path, body] = operations[op]!(f);
    const res = await gw.call(method, path, body);
    if (expected[op]!.includes(state)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      if (op === 'DECRYPT') expect(res.body.plaintext).toBe(b64('x'));
      if (op === 'VERIFY' || op === 'VERIFY_MAC') expect(res.body.valid).toBe(true);
      if (op === 'UNWRAP') expect(res.body.key).toBe(b64('k'.repeat(32)));
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body).toMatchObject({ code: 'FAILED_PRECONDITION', status: 409 });
      expect(res.body.detail).toContain(op);
    }
  });
});

describe('protect-stop date', () => {
  it('a key past its protect-stop date decrypts but no longer encrypts', async () => {
    const f = await fixture();
    await gw.forceState(f.aes, 'ACTIVE', `, protect_stop_date = now() - interval '1 second'`);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: f.ciphertext })).status).toBe(200);
    const res = await gw.call('POST', `/v1/keys/${f.aes}/encrypt`, { plaintext: b64('x') });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('protect-stop');
  });
});
