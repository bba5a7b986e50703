// The gateway's specs and algorithms in Cloud KMS terms: a CryptoKey's purpose and its versions'
// algorithm, which Cloud KMS fixes per key (so a signing key signs with one algorithm only).
import type { protos } from '@google-cloud/kms';
import { KmsError } from '../../src/errors.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../../src/keys/specs.ts';

type Purpose = keyof typeof protos.google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose;
type Algorithm = keyof typeof protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm;

// Cloud KMS has RSA with SHA-512 only for 4096-bit keys and no SHA-384 at all; the gateway offers
// the SHA-256 ones, which every RSA size has.
const signing: Partial<Record<SigningAlgorithm, (bits: number) => string>> = {
  RSASSA_PSS_SHA_256: (b) => `RSA_SIGN_PSS_${b}_SHA256`,
  RSASSA_PKCS1_V1_5_SHA_256: (b) => `RSA_SIGN_PKCS1_${b}_SHA256`,
};
const ec: Partial<Record<KeySpec, string>> = { EC_P256: 'EC_SIGN_P256_SHA256', EC_P384: 'EC_SIGN_P384_SHA384', EC_SECP256K1: 'EC_SIGN_SECP256K1_SHA256', ED25519: 'EC_SIGN_ED25519' };
const hmac: Partial<Record<KeySpec, string>> = { HMAC_256: 'HMAC_SHA256', HMAC_384: 'HMAC_SHA384', HMAC_512: 'HMAC_SHA512' };

export const gcpSigningAlgorithms = ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256', 'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ED25519'] as const satisfies readonly SigningAlgorithm[];

/** secp256k1 keys exist only at protection level HSM. */
export const gcpSpecs = (hsm: boolean): KeySpec[] =>
  ['AES_256', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_P256', 'EC_P384', ...(hsm ? ['EC_SECP256K1' as const] : []), 'ED25519', 'HMAC_256', 'HMAC_384', 'HMAC_512'];

/**
 * A key's purpose and version algorithm. Cloud KMS fixes an RSA signing key's algorithm, so such a
 * key must be pinned to one Cloud KMS has (the core pins keys it creates; an import or a restore
 * brings the key's own pin).
 */
export function gcpTemplate(spec: KeySpec, usage: KeyUsage, algorithm?: SigningAlgorithm): { purpose: Purpose; algorithm: Algorithm } {
  const bits = Number(spec.slice(4));
  if (usage === 'MAC') return { purpose: 'MAC', algorithm: hmac[spec] as Algorithm };
  if (usage === 'ENCRYPT_DECRYPT') {
    return spec === 'AES_256' ? { purpose: 'ENCRYPT_DECRYPT', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' } : { purpose: 'ASYMMETRIC_DECRYPT', algorithm: `RSA_DECRYPT_OAEP_${bits}_SHA256` as Algorithm };
  }
  if (!spec.startsWith('RSA_')) return { purpose: 'ASYMMETRIC_SIGN', algorithm: ec[spec] as Algorithm };
  const rsa = algorithm && signing[algorithm];
  if (!rsa) throw new KmsError('INVALID_ARGUMENT', `Cloud KMS fixes an RSA key's signing algorithm: the key must be pinned to one it has (${algorithm ?? 'none'} is not)`);
  return { purpose: 'ASYMMETRIC_SIGN', algorithm: rsa(bits) as Algorithm };
}

const byAlgorithm = <T extends Partial<Record<KeySpec, string>>>(table: T, algorithm: string) => (Object.keys(table) as KeySpec[]).find((k) => table[k] === algorithm);

/**
 * A Cloud KMS algorithm in the gateway's terms, for discovery. Only the SHA-256 RSA variants map:
 * the gateway encrypts and signs RSA with SHA-256, so an OAEP-SHA-1 or PSS-SHA-512 key could not be
 * used through it. Unmapped algorithms (raw PKCS#1, external keys, post-quantum) have no spec.
 */
export function fromGcpAlgorithm(algorithm: string): { spec?: KeySpec; usage?: KeyUsage } {
  if (algorithm === 'GOOGLE_SYMMETRIC_ENCRYPTION') return { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' };
  const rsa = /^RSA_(DECRYPT_OAEP|SIGN_PSS|SIGN_PKCS1)_(2048|3072|4096)_SHA256$/.exec(algorithm);
  if (rsa) return { spec: `RSA_${rsa[2]}` as KeySpec, usage: rsa[1] === 'DECRYPT_OAEP' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY' };
  const signing = byAlgorithm(ec, algorithm);
  if (signing) return { spec: signing, usage: 'SIGN_VERIFY' };
  const mac = byAlgorithm(hmac, algorithm);
  return mac ? { spec: mac, usage: 'MAC' } : {};
}
