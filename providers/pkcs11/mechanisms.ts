// The mechanisms each operation uses, with their parameters. PKCS#11 v3.0 constants that pkcs11js
// (a v2.40 binding) does not name are defined here.
import type { GcmParams, Mechanism, RsaOAEP, RsaPSS } from 'pkcs11js';
import type { HashName, KeySpec, SigningAlgorithm } from '../../src/keys/specs.ts';
import { signingHash, specInfo } from '../../src/keys/specs.ts';
import type { Pkcs11Lib } from './token.ts';

export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
/** CK_RSA_PKCS_OAEP_PARAMS.source: the label is given (empty here). */
const CKZ_DATA_SPECIFIED = 1;

const hashMechanism = (p: Pkcs11Lib, hash: HashName | 'sha1') =>
  ({ sha1: [p.CKM_SHA_1, p.CKG_MGF1_SHA1], sha256: [p.CKM_SHA256, p.CKG_MGF1_SHA256], sha384: [p.CKM_SHA384, p.CKG_MGF1_SHA384], sha512: [p.CKM_SHA512, p.CKG_MGF1_SHA512] })[hash];

export function oaep(p: Pkcs11Lib, hash: 'sha1' | 'sha256'): Mechanism {
  const [hashAlg, mgf] = hashMechanism(p, hash);
  const parameter: RsaOAEP = { type: p.CK_PARAMS_RSA_OAEP, hashAlg: hashAlg!, mgf: mgf!, source: CKZ_DATA_SPECIFIED };
  return { mechanism: p.CKM_RSA_PKCS_OAEP, parameter };
}

export function gcm(p: Pkcs11Lib, iv: Buffer, aad: Uint8Array): Mechanism {
  const parameter: GcmParams = { type: p.CK_PARAMS_AES_GCM, iv, ivBits: iv.length * 8, aad: Buffer.from(aad), tagBits: 128 };
  return { mechanism: p.CKM_AES_GCM, parameter };
}

/** The signing mechanism of an algorithm; RSASSA-PSS uses salt length = hash length, as the clouds do. */
export function signing(p: Pkcs11Lib, algorithm: SigningAlgorithm): Mechanism {
  if (algorithm === 'ED25519') return { mechanism: CKM_EDDSA };
  if (algorithm.startsWith('ECDSA_')) return { mechanism: p.CKM_ECDSA };
  if (algorithm.startsWith('RSASSA_PKCS1')) return { mechanism: p.CKM_RSA_PKCS };
  const { hash, bytes } = signingHash(algorithm)!;
  const [hashAlg, mgf] = hashMechanism(p, hash);
  const parameter: RsaPSS = { type: p.CK_PARAMS_RSA_PSS, hashAlg: hashAlg!, mgf: mgf!, saltLen: bytes };
  return { mechanism: p.CKM_RSA_PKCS_PSS, parameter };
}

export function hmac(p: Pkcs11Lib, spec: KeySpec): Mechanism {
  return { mechanism: { sha256: p.CKM_SHA256_HMAC, sha384: p.CKM_SHA384_HMAC, sha512: p.CKM_SHA512_HMAC }[specInfo[spec].hash!] };
}
