// Generating and loading key material of every spec with node:crypto. Symmetric material is raw
// bytes; asymmetric material is PKCS#8 DER.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { newKeyPairSync } from '../../src/crypto/keypair.ts';
import { specInfo, type KeySpec } from '../../src/keys/specs.ts';

export function generateMaterial(spec: KeySpec): Buffer {
  const info = specInfo[spec];
  switch (info.family) {
    case 'aes':
    case 'hmac':
      return randomBytes(info.bits / 8);
    case 'rsa':
      return newKeyPairSync({ type: 'rsa', modulusLength: info.bits }).pkcs8;
    case 'ec':
      return newKeyPairSync({ type: 'ec', namedCurve: info.curve! }).pkcs8;
    case 'ed25519':
      return newKeyPairSync({ type: 'ed25519' }).pkcs8;
  }
}

/** Loaded material: raw bytes for symmetric specs, key objects for asymmetric ones. */
export type Material = { kind: 'secret'; bytes: Buffer } | { kind: 'pair'; privateKey: KeyObject; publicKey: KeyObject };

export function loadMaterial(spec: KeySpec, bytes: Buffer): Material {
  const family = specInfo[spec].family;
  if (family === 'aes' || family === 'hmac') return { kind: 'secret', bytes };
  const privateKey = createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  return { kind: 'pair', privateKey, publicKey: createPublicKey(privateKey) };
}
