// Cryptographic operations through the API. Signatures are checked by node:crypto's own verifier
// against the exported public key, so the gateway's signing cannot pass by agreeing with itself.
import { createHash, createPublicKey, verify as nodeVerify, constants } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingHash, specInfo, type KeySpec, type SigningAlgorithm } from '../src/keys/specs.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

const create = async (spec: string, usage: string) => (await gw.call('POST', '/v1/keys', { spec, usage })).body.id as string;
const message = Buffer.from('the quick brown fox');

function nodeVerifies(pem: string, algorithm: SigningAlgorithm, signature: Buffer): boolean {
  const key = createPublicKey(pem);
  if (algorithm === 'ED25519') return nodeVerify(null, message, key, signature);
  const hash = signingHash(algorithm)!.hash;
  if (algorithm.startsWith('RSASSA_PSS')) return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: signingHash(algorithm)!.bytes }, signature);
  return nodeVerify(hash, message, key, signature);
}

const cases = (['RSA_2048', 'RSA_3072', 'EC_P256', 'EC_P384', 'EC_SECP256K1', 'ED25519'] as KeySpec[])
  .flatMap((spec) => specInfo[spec].signing.map((algorithm) => [spec, algorithm] as const));

describe.each(cases)('%s with %s', (spec, algorithm) => {
  let id: string;
  let pem: string;
  beforeAll(async () => {
    id = await create(spec, 'SIGN_VERIFY');
    pem = (await gw.call('GET', `/v1/keys/${id}/public-key`)).body.publicKey;
  });

  it('signs a message; node:crypto and the gateway verify it; a changed message fails', async () => {
    const sig = (await gw.call('POST', `/v1/keys/${id}/sign`, { message: b64(message), algorithm })).body.signature;
    expect(nodeVerifies(pem, algorithm, Buffer.from(sig, 'base64'))).toBe(true);
    expect((await gw.call('POST', `/v1/keys/${id}/verify`, { message: b64(message), algorithm, signature: sig })).body.valid).toBe(true);
    expect((await gw.call('POST', `/v1/keys/${id}/verify`, { message: b64('other'), algorithm, signature: sig })).body.valid).toBe(false);
  });

  it('signs a digest so that the message verifies (digest mode), or refuses digests for ED25519', async () => {
    const h = signingHash(algorithm);
    if (!h) {
      const res = await gw.call('POST', `/v1/keys/${id}/sign`, { digest: b64(Buffer.alloc(32)), algorithm });
      expect(res.status).toBe(400);
      return;
    }
    const digest = createHash(h.hash).update(message).digest();
    const sig = (await gw.call('POST', `/v1/keys/${id}/sign`, { digest: b64(digest), algorithm })).body.signature;
    expect(nodeVerifies(pem, algorithm, Buffer.from(sig, 'base64'))).toBe(true);
    expect((await gw.call('POST', `/v1/keys/${id}/verify`, { digest: b64(digest), algorithm, signature: sig })).body.valid).toBe(true);
    expect((await gw.call('POST', `/v1/keys/${id}/sign`, { digest: b64(digest.subarray(1)), algorithm })).status).toBe(400);
  });

  it('serves the public key as PEM and as a JWK of the same key', async () => {
    const jwk = (await gw.call('GET', `/v1/keys/${id}/public-key?format=jwk`)).body.publicKey;
    expect(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' })).toBe(pem);
  });
});

describe('signing rules', () => {
  it('an algorithm that does not fit the spec is 400', async () => {
    const id = await create('EC_P256', 'SIGN_VERIFY');
    const res = await gw.call('POST', `/v1/keys/${id}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_384' });
    expect(res).toMatchObject({ status: 400, body: { field: 'algorithm' } });
  });

  it('sending both message and digest is 400', async () => {
    const id = await create('EC_P256', 'SIGN_VERIFY');
    expect((await gw.call('POST', `/v1/keys/${id}/sign`, { message: b64('m'), digest: b64(Buffer.alloc(32)), algorithm: 'ECDSA_SHA_256' })).status).toBe(400);
  });

  it('after rotation, a signature of version 1 verifies against version 1 and not the new version', async () => {
    const id = await create('EC_P256', 'SIGN_VERIFY');
    const sig = (await gw.call('POST', `/v1/keys/${id}/sign`, { message: b64(message), algorithm: 'ECDSA_SHA_256' })).body.signature;
    await gw.call('POST', `/v1/keys/${id}/rotate`);
    const verify = (version?: number) => gw.call('POST', `/v1/keys/${id}/verify`, { message: b64(message), algorithm: 'ECDSA_SHA_256', signature: sig, version });
    expect((await verify(1)).body).toMatchObject({ valid: true, version: 1 });
    expect((await verify()).body).toMatchObject({ valid: false, version: 2 });
    expect((await verify(3)).status).toBe(404);
  });
});

describe('MAC', () => {
  it.each(['HMAC_256', 'HMAC_384', 'HMAC_512'])('%s computes a MAC of the right length that verifies, and rejects a changed message', async (spec) => {
    const id = await create(spec, 'MAC');
    const mac = (await gw.call('POST', `/v1/keys/${id}/mac`, { message: b64(message) })).body.mac;
    expect(Buffer.from(mac, 'base64').length).toBe(specInfo[spec as KeySpec].bits / 8);
    expect((await gw.call('POST', `/v1/keys/${id}/verify-mac`, { message: b64(message), mac })).body.valid).toBe(true);
    expect((await gw.call('POST', `/v1/keys/${id}/verify-mac`, { message: b64('other'), mac })).body.valid).toBe(false);
  });
});

describe('encryption', () => {
  it('two encryptions of the same plaintext differ and both decrypt', async () => {
    const id = await create('AES_256', 'ENCRYPT_DECRYPT');
    const [a, b] = await Promise.all([1, 2].map(() => gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('same') })));
    expect(a!.body.ciphertext).not.toBe(b!.body.ciphertext);
    for (const r of [a!, b!]) expect((await gw.call('POST', '/v1/decrypt', { ciphertext: r.body.ciphertext })).body.plaintext).toBe(b64('same'));
  });

  it.each(['RSA_2048', 'RSA_4096'])('an %s ENCRYPT_DECRYPT key makes envelopes too (DEK under RSA-OAEP)', async (spec) => {
    const id = await create(spec, 'ENCRYPT_DECRYPT');
    const ct = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('rsa'), context: { a: 'b' } })).body.ciphertext;
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct, context: { a: 'b' } })).body.plaintext).toBe(b64('rsa'));
  });

  it('a data key comes with or without plaintext, and its ciphertext decrypts to the same bytes', async () => {
    const id = await create('AES_256', 'ENCRYPT_DECRYPT');
    const dk = (await gw.call('POST', `/v1/keys/${id}/data-key`, { context: { p: 'q' } })).body;
    expect(Buffer.from(dk.plaintext, 'base64').length).toBe(32);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: dk.ciphertext, context: { p: 'q' } })).body.plaintext).toBe(dk.plaintext);
    const bare = (await gw.call('POST', `/v1/keys/${id}/data-key`, { withPlaintext: false, bytes: 64 })).body;
    expect(bare.plaintext).toBeUndefined();
    expect(Buffer.from((await gw.call('POST', '/v1/decrypt', { ciphertext: bare.ciphertext })).body.plaintext, 'base64').length).toBe(64);
  });

  it('one key cannot open another key\'s envelope even when the envelope is rewritten to name it', async () => {
    const [a, b] = await Promise.all([create('AES_256', 'ENCRYPT_DECRYPT'), create('AES_256', 'ENCRYPT_DECRYPT')]);
    const ct = Buffer.from((await gw.call('POST', `/v1/keys/${a}/encrypt`, { plaintext: b64('x') })).body.ciphertext, 'base64');
    Buffer.from(b).copy(ct, 3);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: b64(ct) })).status).toBe(400);
  });

  it('re-encrypts under another key with its own context', async () => {
    const [a, b] = await Promise.all([create('AES_256', 'ENCRYPT_DECRYPT'), create('AES_256', 'ENCRYPT_DECRYPT')]);
    const ct = (await gw.call('POST', `/v1/keys/${a}/encrypt`, { plaintext: b64('move me'), context: { from: 'a' } })).body.ciphertext;
    const re = (await gw.call('POST', '/v1/reencrypt', { ciphertext: ct, context: { from: 'a' }, destinationKey: b, destinationContext: { to: 'b' } })).body;
    expect(re.keyId).toBe(b);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: re.ciphertext, context: { to: 'b' } })).body.plaintext).toBe(b64('move me'));
  });

  describe('native ciphertext', () => {
    it('is the keystore\'s own AES-GCM ciphertext (no envelope), audited as native, and opens only with its key and version', async () => {
      const id = await create('AES_256', 'ENCRYPT_DECRYPT');
      const out = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('sixteen bytes..!'), format: 'native' })).body;
      expect(Buffer.from(out.ciphertext, 'base64').length).toBe(12 + 16 + 16);
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: out.ciphertext })).status).toBe(400);
      const other = await create('AES_256', 'ENCRYPT_DECRYPT');
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: out.ciphertext, format: 'native', key: other, version: 1 })).body).toMatchObject({ status: 400, field: 'ciphertext' });
      const events = (await gw.call('GET', `/v1/audit/events?keyId=${id}&limit=10`)).body.events as { action: string; detail?: Record<string, string> }[];
      expect(events.find((e) => e.action === 'encrypt')?.detail).toMatchObject({ format: 'native' });
    });

    it('refuses misplaced fields with 400 on the field, before anything is done', async () => {
      const id = await create('AES_256', 'ENCRYPT_DECRYPT');
      const ct = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('x'), format: 'native' })).body.ciphertext;
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct, format: 'native', key: id })).body).toMatchObject({ status: 400, field: 'version' });
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct, format: 'native', version: 1 })).body).toMatchObject({ status: 400, field: 'key' });
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct, key: id })).body).toMatchObject({ status: 400, field: 'key' });
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct, format: 'native', key: id, version: 1, connection: 'elsewhere' })).body).toMatchObject({ status: 400, field: 'connection' });
      expect((await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('x'), format: 'raw' })).body).toMatchObject({ status: 400, field: 'format' });
      expect((await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64(Buffer.alloc(65_537)), format: 'native' })).body).toMatchObject({ status: 400, field: 'plaintext' });
      const rsa = await create('RSA_2048', 'ENCRYPT_DECRYPT');
      expect((await gw.call('POST', `/v1/keys/${rsa}/encrypt`, { plaintext: b64(Buffer.alloc(191)), format: 'native' })).body).toMatchObject({ status: 400, field: 'plaintext' });
      expect((await gw.call('POST', `/v1/keys/${rsa}/encrypt`, { plaintext: b64(Buffer.alloc(190)), format: 'native' })).status).toBe(200);
      const signing = await create('EC_P256', 'SIGN_VERIFY');
      expect((await gw.call('POST', `/v1/keys/${signing}/encrypt`, { plaintext: b64('x'), format: 'native' })).status).toBe(400);
    });
  });
});
