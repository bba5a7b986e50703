// Key wrapping in software, for the local keystore and as the reference the HSM's output is checked
// against: AES key wrap with padding (RFC 5649), RSA-OAEP, and the two together as CKM_RSA_AES_KEY_WRAP
// (PKCS#11 §2.1.21, AWS's RSA_AES_KEY_WRAP_*: an ephemeral AES-256 key under OAEP, then the key under it).
import { constants, createCipheriv, createDecipheriv, createPublicKey, publicEncrypt, privateDecrypt, type KeyObject } from 'node:crypto';
import { KmsError } from '../errors.ts';
import { random } from './random.ts';

/** RFC 5649 §3: the alternative initial value's constant half. */
const KWP_AIV = Buffer.from('a65959a6', 'hex');
const kwpCipher = (kek: Uint8Array) => {
  const bits = kek.length * 8;
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new KmsError('INVALID_ARGUMENT', 'an AES key-wrapping key is 16, 24 or 32 bytes');
  return `id-aes${bits}-wrap-pad`;
};

export function kwpWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  const c = createCipheriv(kwpCipher(kek), kek, KWP_AIV);
  return Buffer.concat([c.update(key), c.final()]);
}

export function kwpUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  try {
    const d = createDecipheriv(kwpCipher(kek), kek, KWP_AIV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'the wrapped key failed its integrity check', { cause });
  }
}

export type OaepHash = 'sha1' | 'sha256';

export function oaepWrap(publicKey: KeyObject, hash: OaepHash, key: Uint8Array): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, key);
}

export function oaepUnwrap(privateKey: KeyObject, hash: OaepHash, wrapped: Uint8Array): Buffer {
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, wrapped);
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'the wrapped key failed OAEP decoding', { cause });
  }
}

/** CKM_RSA_AES_KEY_WRAP: OAEP(ephemeral AES-256 key) ‖ KWP(ephemeral, key); any key length. */
export function rsaAesWrap(publicKey: KeyObject, hash: OaepHash, key: Uint8Array): Buffer {
  const ephemeral = random(32);
  return Buffer.concat([oaepWrap(publicKey, hash, ephemeral), kwpWrap(ephemeral, key)]);
}

export function rsaAesUnwrap(privateKey: KeyObject, hash: OaepHash, wrapped: Uint8Array): Buffer {
  const k = privateKey.asymmetricKeyDetails!.modulusLength! / 8;
  return kwpUnwrap(oaepUnwrap(privateKey, hash, wrapped.subarray(0, k)), wrapped.subarray(k));
}

/** The OAEP hash of a wrap algorithm or export scheme, and whether an AES layer carries the key. */
export function schemeParts(scheme: string): { hash: OaepHash; withAes: boolean } {
  return { hash: scheme.endsWith('_SHA_1') ? 'sha1' : 'sha256', withAes: scheme.startsWith('RSA_AES_KEY_WRAP') };
}

/** Material wrapped for an importer's RSA public key (DER SubjectPublicKeyInfo) under one of the import schemes. */
export function wrapForImporter(wrappingKey: Uint8Array, scheme: string, material: Uint8Array): Buffer {
  const importer = createPublicKey({ key: Buffer.from(wrappingKey), format: 'der', type: 'spki' });
  const { hash, withAes } = schemeParts(scheme);
  return withAes ? rsaAesWrap(importer, hash, material) : oaepWrap(importer, hash, material);
}

/** The other side of `wrapForImporter`, with the importer's private key. */
export function unwrapForImporter(privateKey: KeyObject, scheme: string, wrapped: Uint8Array): Buffer {
  const { hash, withAes } = schemeParts(scheme);
  return withAes ? rsaAesUnwrap(privateKey, hash, wrapped) : oaepUnwrap(privateKey, hash, wrapped);
}
