// Every cell of the state × operation table, through the HTTP API: a key forced into each state,
// each operation tried; allowed cells answer 2xx, refused ones 409 FAILED_PRECONDITION.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyStates, type KeyState } from '../src/keys/lifecycle.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

// Written out independently of src/keys/lifecycle.ts, so a change to the table breaks this test.
const P = 'PRE_ACTIVE', A = 'ACTIVE', S = 'SUSPENDED', D = 'DEACTIVATED', C = 'COMPROMISED', PD = 'PENDING_DELETION';
const expected: Record<string, KeyState[]> = {
  ENCRYPT: [A], GENERATE_DATA_KEY: [A], SIGN: [A], MAC: [A], ROTATE: [A],
  DECRYPT: [A, S, D, C], VERIFY: [A, S, D, C], VERIFY_MAC: [A, S, D, C], GET_PUBLIC_KEY: [A, S, D, C],
  UPDATE: [P, A, S, D, C, PD],
};

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

interface Fixture { aes: string; ec: string; hmac: string; ciphertext: string; signature: string; mac: string }

async function fixture(): Promise<Fixture> {
  const create = async (spec: string, usage: string) => (await gw.call('POST', '/v1/keys', { spec, usage })).body.id as string;
  const [aes, ec, hmac] = await Promise.all([create('AES_256', 'ENCRYPT_DECRYPT'), create('EC_P256', 'SIGN_VERIFY'), create('HMAC_256', 'MAC')]);
  const ciphertext = (await gw.call('POST', `/v1/keys/${aes}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
  const signature = (await gw.call('POST', `/v1/keys/${ec}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_256' })).body.signature;
  const mac = (await gw.call('POST', `/v1/keys/${hmac}/mac`, { message: b64('m') })).body.mac;
  return { aes, ec, hmac, ciphertext, signature, mac };
}

const operations: Record<string, (f: Fixture) => [string, string, unknown?]> = {
  ENCRYPT: (f) => ['POST', `/v1/keys/${f.aes}/encrypt`, { plaintext: b64('x') }],
  GENERATE_DATA_KEY: (f) => ['POST', `/v1/keys/${f.aes}/data-key`, {}],
  SIGN: (f) => ['POST', `/v1/keys/${f.ec}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_256' }],
  MAC: (f) => ['POST', `/v1/keys/${f.hmac}/mac`, { message: b64('m') }],
  ROTATE: (f) => ['POST', `/v1/keys/${f.aes}/rotate`],
  DECRYPT: (f) => ['POST', '/v1/decrypt', { ciphertext: f.ciphertext }],
  VERIFY: (f) => ['POST', `/v1/keys/${f.ec}/verify`, { message: b64('m'), algorithm: 'ECDSA_SHA_256', signature: f.signature }],
  VERIFY_MAC: (f) => ['POST', `/v1/keys/${f.hmac}/verify-mac`, { message: b64('m'), mac: f.mac }],
  GET_PUBLIC_KEY: (f) => ['GET', `/v1/keys/${f.ec}/public-key`],
  UPDATE: (f) => ['PATCH', `/v1/keys/${f.aes}`, { tags: { touched: 'yes' } }],
};

describe.each(keyStates)('a key in state %s', (state) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
    // A PRE_ACTIVE key with a past activation date is ACTIVE by its dates; clear the date to hold it.
    for (const id of [f.aes, f.ec, f.hmac]) await gw.forceState(id, state, state === 'PRE_ACTIVE' ? ', activation_date = null' : '');
  });

  it.each(Object.keys(operations))(`%s is allowed exactly when the table says so`, async (op) => {
    const [method, path, body] = operations[op]!(f);
    const res = await gw.call(method, path, body);
    if (expected[op]!.includes(state)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      if (op === 'DECRYPT') expect(res.body.plaintext).toBe(b64('x'));
      if (op === 'VERIFY' || op === 'VERIFY_MAC') expect(res.body.valid).toBe(true);
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
