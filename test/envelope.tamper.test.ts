// Flipping any single byte of an envelope, or changing its encryption context, makes decrypt fail
// with 400 — through the real API and the local provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let ciphertext: Buffer;
const context = { tenant: 'acme', purpose: 'tamper' };

beforeAll(async () => {
  gw = await startGateway();
  const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
  const res = await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('attack at dawn'), context });
  ciphertext = Buffer.from(res.body.ciphertext, 'base64');
});
afterAll(async () => { await gw.close(); });

describe('tampering', () => {
  it('the untouched envelope decrypts', async () => {
    const res = await gw.call('POST', '/v1/decrypt', { ciphertext: b64(ciphertext), context });
    expect(res.body.plaintext).toBe(b64('attack at dawn'));
  });

  it('flipping any single byte makes decrypt fail with 400', async () => {
    const failures: string[] = [];
    for (let i = 0; i < ciphertext.length; i++) {
      const tampered = Buffer.from(ciphertext);
      tampered[i]! ^= 0x01;
      const res = await gw.call('POST', '/v1/decrypt', { ciphertext: b64(tampered), context });
      if (res.status !== 400 || res.body.code !== 'INVALID_ARGUMENT') failures.push(`byte ${i}: ${res.status} ${res.body.detail}`);
    }
    expect(failures).toEqual([]);
  });

  it('truncating or extending the envelope makes decrypt fail with 400', async () => {
    for (const bytes of [ciphertext.subarray(0, ciphertext.length - 1), ciphertext.subarray(0, 20), Buffer.concat([ciphertext, Buffer.from([0])]), Buffer.alloc(0)]) {
      const res = await gw.call('POST', '/v1/decrypt', { ciphertext: b64(bytes), context });
      expect(res.status).toBe(400);
    }
  });

  it.each([
    ['a changed value', { tenant: 'acme', purpose: 'other' }],
    ['a missing entry', { tenant: 'acme' }],
    ['an extra entry', { ...context, extra: '1' }],
    ['no context at all', undefined],
  ])('decrypt with %s in the context fails with 400', async (_, ctx) => {
    const res = await gw.call('POST', '/v1/decrypt', { ciphertext: b64(ciphertext), ...(ctx && { context: ctx }) });
    expect(res.status).toBe(400);
    expect(res.body.detail).not.toContain('attack');
  });

  it('another key cannot open the envelope: its wrap binding is not the key\'s', async () => {
    const other = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const mine = (await gw.call('POST', `/v1/keys/${other.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
    // Splice the other key's id into this envelope's header: the key id length is the same.
    const spliced = Buffer.from(ciphertext);
    Buffer.from(Buffer.from(mine, 'base64').subarray(3, 3 + other.id.length)).copy(spliced, 3);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: b64(spliced), context })).status).toBe(400);
  });
});
