// Normalized key specs and what each can be used for. The one table that every provider's
// capabilities and every validation refer to.

export const keySpecs = [
  'AES_256',
  'RSA_2048', 'RSA_3072', 'RSA_4096',
  'EC_P256', 'EC_P384', 'EC_SECP256K1',
  'ED25519',
  'HMAC_256', 'HMAC_384', 'HMAC_512',
] as const;
export type KeySpec = (typeof keySpecs)[number];

export const keyUsages = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'MAC', 'WRAP_UNWRAP'] as const;
export type KeyUsage = (typeof keyUsages)[number];

export const signingAlgorithms = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256', 'ECDSA_SHA_384',
  'ED25519',
] as const;
export type SigningAlgorithm = (typeof signingAlgorithms)[number];

export type HashName = 'sha256' | 'sha384' | 'sha512';
export type KeyFamily = 'aes' | 'rsa' | 'ec' | 'ed25519' | 'hmac';

export interface SpecInfo {
  family: KeyFamily;
  bits: number;
  usages: readonly KeyUsage[];
  signing: readonly SigningAlgorithm[];
  /** OpenSSL curve name for EC specs. */
  curve?: 'prime256v1' | 'secp384r1' | 'secp256k1';
  /** Hash of HMAC specs. */
  hash?: HashName;
}

const rsaSigning = signingAlgorithms.filter((a) => a.startsWith('RSASSA_'));
const rsa = (bits: number): SpecInfo => ({ family: 'rsa', bits, usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'WRAP_UNWRAP'], signing: rsaSigning });
const hmac = (bits: number, hash: HashName): SpecInfo => ({ family: 'hmac', bits, usages: ['MAC'], signing: [], hash });

export const specInfo: Record<KeySpec, SpecInfo> = {
  AES_256: { family: 'aes', bits: 256, usages: ['ENCRYPT_DECRYPT', 'WRAP_UNWRAP'], signing: [] },
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  EC_P256: { family: 'ec', bits: 256, usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_256'], curve: 'prime256v1' },
  EC_P384: { family: 'ec', bits: 384, usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_384'], curve: 'secp384r1' },
  EC_SECP256K1: { family: 'ec', bits: 256, usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_256'], curve: 'secp256k1' },
  ED25519: { family: 'ed25519', bits: 256, usages: ['SIGN_VERIFY'], signing: ['ED25519'] },
  HMAC_256: hmac(256, 'sha256'),
  HMAC_384: hmac(384, 'sha384'),
  HMAC_512: hmac(512, 'sha512'),
};

const digestBytes: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** The hash a signing algorithm uses, and the digest length a caller must send in digest mode. */
export function signingHash(algorithm: SigningAlgorithm): { hash: HashName; bytes: number } | undefined {
  if (algorithm === 'ED25519') return undefined;
  const hash = `sha${algorithm.slice(-3)}` as HashName;
  return { hash, bytes: digestBytes[hash] };
}
