// The gateway's specs and algorithms in Key Vault's terms (JWA names). A standard vault holds RSA
// and EC keys only: AES and HMAC keys need a Managed HSM, which this adapter does not cover yet.
import type { KeySpec, SigningAlgorithm } from '../../src/keys/specs.ts';

export const azureKey: Partial<Record<KeySpec, { kty: 'RSA' | 'EC'; keySize?: number; curve?: 'P-256' | 'P-384' | 'P-256K' }>> = {
  RSA_2048: { kty: 'RSA', keySize: 2048 },
  RSA_3072: { kty: 'RSA', keySize: 3072 },
  RSA_4096: { kty: 'RSA', keySize: 4096 },
  EC_P256: { kty: 'EC', curve: 'P-256' },
  EC_P384: { kty: 'EC', curve: 'P-384' },
  EC_SECP256K1: { kty: 'EC', curve: 'P-256K' },
};

export const azureSignature: Partial<Record<SigningAlgorithm, string>> = {
  RSASSA_PSS_SHA_256: 'PS256', RSASSA_PSS_SHA_384: 'PS384', RSASSA_PSS_SHA_512: 'PS512',
  RSASSA_PKCS1_V1_5_SHA_256: 'RS256', RSASSA_PKCS1_V1_5_SHA_384: 'RS384', RSASSA_PKCS1_V1_5_SHA_512: 'RS512',
  ECDSA_SHA_256: 'ES256', ECDSA_SHA_384: 'ES384',
};

/** ES256 on a secp256k1 key is ES256K in JWA. */
export const signatureName = (spec: KeySpec, algorithm: SigningAlgorithm): string =>
  spec === 'EC_SECP256K1' ? 'ES256K' : azureSignature[algorithm]!;
