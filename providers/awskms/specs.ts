// How the gateway's specs and usages map onto AWS KMS key specs and usages.
import type { KeySpec, KeyUsage } from '../../src/keys/specs.ts';

export const awsKeySpec: Partial<Record<KeySpec, string>> = {
  AES_256: 'SYMMETRIC_DEFAULT',
  RSA_2048: 'RSA_2048', RSA_3072: 'RSA_3072', RSA_4096: 'RSA_4096',
  EC_P256: 'ECC_NIST_P256', EC_P384: 'ECC_NIST_P384', EC_SECP256K1: 'ECC_SECG_P256K1',
  HMAC_256: 'HMAC_256', HMAC_384: 'HMAC_384', HMAC_512: 'HMAC_512',
};

export const awsKeyUsage: Partial<Record<KeyUsage, string>> = {
  ENCRYPT_DECRYPT: 'ENCRYPT_DECRYPT',
  SIGN_VERIFY: 'SIGN_VERIFY',
  MAC: 'GENERATE_VERIFY_MAC',
};

export const macAlgorithm = (spec: KeySpec) => `HMAC_SHA_${spec.slice(-3)}` as 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';

/** The gateway spec and usage of an AWS key, when the gateway has one. */
export const fromAwsSpec = (spec: string | undefined) => (Object.entries(awsKeySpec).find(([, v]) => v === spec)?.[0]) as KeySpec | undefined;
export const fromAwsUsage = (usage: string | undefined) => (Object.entries(awsKeyUsage).find(([, v]) => v === usage)?.[0]) as KeyUsage | undefined;
