// ECDSA signature encodings: tokens and Key Vault speak r‖s (PKCS#11, JWS), the gateway and the
// other clouds DER. One curve table for every place that converts or signs with @noble/curves.
import { p256, p384 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { KeySpec } from '../keys/specs.ts';

export const ecdsaCurves = { EC_P256: p256, EC_P384: p384, EC_SECP256K1: secp256k1 } as const;
export type EcSpec = keyof typeof ecdsaCurves;

export const isEcSpec = (spec: KeySpec): spec is EcSpec => spec in ecdsaCurves;

export const derFromCompact = (spec: EcSpec, signature: Uint8Array): Uint8Array =>
  ecdsaCurves[spec].Signature.fromBytes(signature, 'compact').toBytes('der');

/** r‖s of a DER signature, or undefined when it is not well-formed DER (an invalid signature, not an error). */
export function compactFromDer(spec: EcSpec, signature: Uint8Array): Uint8Array | undefined {
  try {
    return ecdsaCurves[spec].Signature.fromBytes(signature, 'der').toBytes('compact');
  } catch {
    return undefined;
  }
}
