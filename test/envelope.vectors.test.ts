// The envelope format pinned by test vectors (docs/envelope.md): encoding with fixed randomness
// must reproduce each vector byte for byte, and each vector must decode and open.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contextDigest, decodeEnvelope, encodeEnvelope, openBody, sealBody, wrapAad } from '../src/crypto/envelope.ts';

interface Vector {
  name: string; keyId: string; keyVersion: number; context: Record<string, string>; plaintext: string;
  dek: string; messageId: string; iv: string; derivedKey: string; commitment: string; contextDigest: string;
  wraps: { bindingId: string; wrapped: string }[]; envelope: string;
}
const { cases } = JSON.parse(readFileSync(new URL('./vectors/envelope-v1.json', import.meta.url), 'utf8')) as { cases: Vector[] };
const h = (s: string) => Buffer.from(s, 'hex');

describe.each(cases)('vector "$name"', (v) => {
  it('encodes to exactly the vector bytes', () => {
    const { headerBytes, body } = sealBody({ keyId: v.keyId, keyVersion: v.keyVersion, dek: h(v.dek), plaintext: h(v.plaintext), context: v.context, messageId: h(v.messageId), iv: h(v.iv) });
    const envelope = encodeEnvelope(headerBytes, v.wraps.map((w) => ({ bindingId: w.bindingId, wrapped: h(w.wrapped) })), body);
    expect(envelope.toString('hex')).toBe(v.envelope);
  });

  it('decodes to its parts and opens to the plaintext', () => {
    const env = decodeEnvelope(h(v.envelope));
    expect(env.header).toMatchObject({ keyId: v.keyId, keyVersion: v.keyVersion });
    expect(env.header.commitment.toString('hex')).toBe(v.commitment);
    expect(env.wraps.map((w) => [w.bindingId, Buffer.from(w.wrapped).toString('hex')])).toEqual(v.wraps.map((w) => [w.bindingId, w.wrapped]));
    expect(openBody(env, h(v.dek), v.context).toString('hex')).toBe(v.plaintext);
  });

  it('uses the context digest and wrap AAD the spec defines', () => {
    expect(contextDigest(v.context).toString('hex')).toBe(v.contextDigest);
    const env = decodeEnvelope(h(v.envelope));
    expect(wrapAad(env.headerBytes)).toEqual(createHash('sha256').update(env.headerBytes).digest());
  });

  it('does not open with another DEK (key commitment)', () => {
    const env = decodeEnvelope(h(v.envelope));
    const other = Buffer.from(h(v.dek).map((b) => b ^ 1));
    expect(() => openBody(env, other, v.context)).toThrow(/commitment/);
  });
});

describe('key derivation', () => {
  it('derive() is HKDF-Expand-SHA-512 with the DEK as PRK, as node:crypto computes it', async () => {
    const { createHmac, randomBytes } = await import('node:crypto');
    const { derive } = await import('../src/crypto/envelope.ts');
    for (let i = 0; i < 20; i++) {
      const dek = randomBytes(32), messageId = randomBytes(32);
      // RFC 5869 §2.3 for L = 64 = HashLen: T(1) = HMAC(PRK, info || 0x01), info = label || message id.
      const okm = createHmac('sha512', dek).update(Buffer.concat([Buffer.from('kmsgw envelope v1 key+commitment'), messageId, Buffer.from([1])])).digest();
      const d = derive(dek, messageId);
      expect(Buffer.concat([d.key, d.commitment])).toEqual(okm);
    }
  });
});
