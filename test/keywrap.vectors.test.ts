// The software key wrapping against the published vectors: RFC 5649 §6 (AES key wrap with padding),
// and CKM_RSA_AES_KEY_WRAP as its two layers.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kwpUnwrap, kwpWrap, rsaAesUnwrap, rsaAesWrap } from '../src/crypto/keywrap.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const kek = hex('5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8');

describe('RFC 5649 §6 vectors', () => {
  it('wraps 20 octets with a 192-bit KEK as the RFC says, and back', () => {
    const key = hex('c37b7e6492584340 bed1220780894115 5068f738');
    const wrapped = hex('138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a');
    expect(kwpWrap(kek, key)).toEqual(wrapped);
    expect(kwpUnwrap(kek, wrapped)).toEqual(key);
  });

  it('wraps 7 octets with a 192-bit KEK as the RFC says, and back', () => {
    const key = hex('466f7250617369');
    const wrapped = hex('afbeb0f07dfbf541 9200f2ccb50bb24f');
    expect(kwpWrap(kek, key)).toEqual(wrapped);
    expect(kwpUnwrap(kek, wrapped)).toEqual(key);
  });

  it('a changed byte fails the integrity check', () => {
    const wrapped = hex('afbeb0f07dfbf541 9200f2ccb50bb24e');
    expect(() => kwpUnwrap(kek, wrapped)).toThrow(/integrity/);
  });
});

describe('CKM_RSA_AES_KEY_WRAP', () => {
  it('is OAEP of a 32-byte ephemeral key followed by RFC 5649 of the key under it', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = Buffer.from('a PKCS#8 blob or any key of any length');
    const wrapped = rsaAesWrap(publicKey, 'sha256', key);
    expect(wrapped.length).toBe(256 + Math.ceil(key.length / 8) * 8 + 8);
    expect(rsaAesUnwrap(privateKey, 'sha256', wrapped)).toEqual(key);
    expect(() => rsaAesUnwrap(privateKey, 'sha1', wrapped)).toThrow(/OAEP/);
  });
});
