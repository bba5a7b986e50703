// The gateway's specs and algorithms in Key Vault's terms (JWA names). A standard vault holds RSA
// and EC keys only: AES and HMAC keys need a Managed HSM, which this adapter does not cover yet.
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../../src/keys/specs.ts';

export interface AzureKey { kty: 'RSA' | 'EC'; keySize?: number; curve?: 'P-256' | 'P-384' | 'P-256K' }

export const azureKey: Partial<Record<KeySpec, AzureKey>> = {
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

const curveSpecs: Record<string, KeySpec> = Object.fromEntries(Object.entries(azureKey).filter(([, k]) => k.curve).map(([spec, k]) => [k.curve, spec]));

/**
 * A vault key in the gateway's terms, from its JWK: RSA keys that may wrap are for encryption (as the
 * gateway's own are), other RSA keys and all EC keys sign. Managed HSM `oct` keys have no spec here yet.
 */
export function fromJwk(jwk: { kty?: string; n?: Uint8Array; crv?: string; keyOps?: string[] }): { spec?: KeySpec; usage?: KeyUsage; nativeSpec: string } {
  const kty = jwk.kty ?? 'unknown';
  // A key exchange key (BYOK's, the gateway's own among them) only imports: no gateway usage.
  if (jwk.keyOps?.length === 1 && jwk.keyOps[0] === 'import') return { nativeSpec: `${kty}/${(jwk.n?.length ?? 0) * 8} key exchange key (import only)` };
  if (kty.startsWith('RSA')) {
    const bits = (jwk.n?.length ?? 0) * 8;
    const spec = `RSA_${bits}` as KeySpec;
    const wraps = !jwk.keyOps || jwk.keyOps.some((op) => op === 'wrapKey' || op === 'encrypt');
    return { spec: azureKey[spec] ? spec : undefined, usage: wraps ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY', nativeSpec: `${kty}/${bits}` };
  }
  if (kty.startsWith('EC')) return { spec: curveSpecs[jwk.crv ?? ''], usage: 'SIGN_VERIFY', nativeSpec: `${kty}/${jwk.crv}` };
  return { nativeSpec: kty };
}

/** An ISO 8601 period as Key Vault's rotation policies write it (P90D, P1Y, P3M), in days; months count as 30. */
export function periodDays(iso: string | undefined): number | undefined {
  const m = iso ? /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/.exec(iso) : null;
  if (!m || !(m[1] || m[2] || m[3])) return undefined;
  return Number(m[1] ?? 0) * 365 + Number(m[2] ?? 0) * 30 + Number(m[3] ?? 0);
}
