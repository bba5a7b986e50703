// Key objects on the token: generation templates per spec and usage (sensitive always, extractable
// only for exportable keys), finding a version's objects by CKA_ID, the KMIP exportability
// attributes read back from the token, and public keys as DER SubjectPublicKeyInfo.
import { createPublicKey } from 'node:crypto';
import type { Handle, PKCS11, Template } from 'pkcs11js';
import { KmsError } from '../../src/errors.ts';
import { specInfo, type KeySpec, type KeyUsage } from '../../src/keys/specs.ts';
import type { MaterialAttributes } from '../provider.ts';
import { CKM_EC_EDWARDS_KEY_PAIR_GEN } from './mechanisms.ts';
import type { Pkcs11Lib } from './token.ts';

export const pkcs11Specs = ['AES_256', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_P256', 'EC_P384', 'EC_SECP256K1', 'ED25519', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const satisfies readonly KeySpec[];

/** DER-encoded curve OIDs for CKA_EC_PARAMS, and the JWK names of the same curves. */
const curves: Partial<Record<KeySpec, { params: string; crv: string; size: number }>> = {
  EC_P256: { params: '06082a8648ce3d030107', crv: 'P-256', size: 32 },
  EC_P384: { params: '06052b81040022', crv: 'P-384', size: 48 },
  EC_SECP256K1: { params: '06052b8104000a', crv: 'secp256k1', size: 32 },
  ED25519: { params: '06032b6570', crv: 'Ed25519', size: 32 },
};

type UsageAttribute = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap';

export interface NewKey { label: string; id: Buffer; spec: KeySpec; usage: KeyUsage; exportable: boolean }

/** Generates the key inside the token and returns the handle of its secret or private part. */
export async function generate(lib: PKCS11, p: Pkcs11Lib, session: Handle, k: NewKey): Promise<Handle> {
  const info = specInfo[k.spec];
  const common: Template = [
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_LABEL, value: k.label },
    { type: p.CKA_ID, value: k.id },
  ];
  const secretSide: Template = [
    ...common,
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_SENSITIVE, value: true },
    // Exportable keys leave the token only wrapped: sensitive stays true, so the value is never readable.
    { type: p.CKA_EXTRACTABLE, value: k.exportable },
  ];
  // Each class carries only its own usage attributes (a public key has no CKA_DECRYPT, say).
  const use = (flags: Partial<Record<UsageAttribute, boolean>>, only: readonly UsageAttribute[]): Template =>
    only.map((a) => ({ type: p[`CKA_${a.toUpperCase() as Uppercase<UsageAttribute>}`], value: flags[a] ?? false }));
  if (info.family === 'aes' || info.family === 'hmac') {
    const flags = k.usage === 'MAC' ? { sign: true, verify: true } : k.usage === 'WRAP_UNWRAP' ? { wrap: true, unwrap: true } : { encrypt: true, decrypt: true };
    const mechanism = info.family === 'aes' ? p.CKM_AES_KEY_GEN : p.CKM_GENERIC_SECRET_KEY_GEN;
    const keyType = info.family === 'aes' ? p.CKK_AES : p.CKK_GENERIC_SECRET;
    return lib.C_GenerateKeyAsync(session, { mechanism }, [
      ...secretSide, { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: keyType },
      { type: p.CKA_VALUE_LEN, value: info.bits / 8 }, ...use(flags, ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap']),
    ]);
  }
  const pub = k.usage === 'SIGN_VERIFY' ? { verify: true } : k.usage === 'WRAP_UNWRAP' ? { wrap: true } : { encrypt: true };
  const priv = k.usage === 'SIGN_VERIFY' ? { sign: true } : k.usage === 'WRAP_UNWRAP' ? { unwrap: true } : { decrypt: true };
  const publicSide: Template = [...common, { type: p.CKA_PRIVATE, value: false }, ...use(pub, ['encrypt', 'verify', 'wrap'])];
  let mechanism: number;
  if (info.family === 'rsa') {
    mechanism = p.CKM_RSA_PKCS_KEY_PAIR_GEN;
    publicSide.push({ type: p.CKA_MODULUS_BITS, value: info.bits }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
  } else {
    mechanism = info.family === 'ed25519' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p.CKM_EC_KEY_PAIR_GEN;
    publicSide.push({ type: p.CKA_EC_PARAMS, value: Buffer.from(curves[k.spec]!.params, 'hex') });
  }
  const pair = await lib.C_GenerateKeyPairAsync(session, { mechanism }, publicSide, [...secretSide, ...use(priv, ['decrypt', 'sign', 'unwrap'])]);
  return pair.privateKey;
}

export type Part = 'secret' | 'private' | 'public';

/** The handle of one part of a version, found by CKA_ID; NOT_FOUND once the version is destroyed. */
export function find(lib: PKCS11, p: Pkcs11Lib, session: Handle, id: Buffer, part: Part): Handle {
  const cls = { secret: p.CKO_SECRET_KEY, private: p.CKO_PRIVATE_KEY, public: p.CKO_PUBLIC_KEY }[part];
  lib.C_FindObjectsInit(session, [{ type: p.CKA_ID, value: id }, { type: p.CKA_CLASS, value: cls }]);
  let found: Handle[];
  try {
    found = lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  if (found.length === 0) throw new KmsError('NOT_FOUND', `the token holds no ${part} key with this id`);
  if (found.length > 1) throw new KmsError('FAILED_PRECONDITION', `the token holds several ${part} keys with one id`);
  return found[0]!;
}

/** Every object of a version (one secret key, or a private and a public key). */
export function findAll(lib: PKCS11, p: Pkcs11Lib, session: Handle, id: Buffer): Handle[] {
  lib.C_FindObjectsInit(session, [{ type: p.CKA_ID, value: id }]);
  try {
    return lib.C_FindObjects(session, 16);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

export function readAttributes(lib: PKCS11, p: Pkcs11Lib, session: Handle, handle: Handle): MaterialAttributes {
  const [extractable, neverExtractable, sensitive, alwaysSensitive] = lib.C_GetAttributeValue(session, handle, [
    { type: p.CKA_EXTRACTABLE }, { type: p.CKA_NEVER_EXTRACTABLE }, { type: p.CKA_SENSITIVE }, { type: p.CKA_ALWAYS_SENSITIVE },
  ]).map((a) => (a.value as Buffer)[0] === 1);
  return { extractable: extractable!, neverExtractable: neverExtractable!, sensitive: sensitive!, alwaysSensitive: alwaysSensitive! };
}

/** The public key of a version as DER SubjectPublicKeyInfo, built from the token's attributes. */
export function publicKeyDer(lib: PKCS11, p: Pkcs11Lib, session: Handle, handle: Handle, spec: KeySpec): Buffer {
  const b64u = (b: Buffer) => b.toString('base64url');
  if (specInfo[spec].family === 'rsa') {
    const [n, e] = lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_MODULUS }, { type: p.CKA_PUBLIC_EXPONENT }]).map((a) => a.value as Buffer);
    return createPublicKey({ key: { kty: 'RSA', n: b64u(n!), e: b64u(e!) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  }
  const curve = curves[spec]!;
  const point = ecPoint(lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_EC_POINT }])[0]!.value as Buffer, spec);
  const jwk = spec === 'ED25519'
    ? { kty: 'OKP', crv: curve.crv, x: b64u(point) }
    : { kty: 'EC', crv: curve.crv, x: b64u(point.subarray(1, 1 + curve.size)), y: b64u(point.subarray(1 + curve.size)) };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 §2.3.3); some tokens omit the wrapper. */
function ecPoint(value: Buffer, spec: KeySpec): Buffer {
  const size = curves[spec]!.size;
  const raw = spec === 'ED25519' ? size : 1 + 2 * size;
  if (value.length === raw) return value;
  const headerLength = value[1]! < 0x80 ? 2 : 2 + (value[1]! & 0x7f);
  if (value[0] !== 0x04 || value.length !== headerLength + raw) throw new KmsError('INTERNAL', `the token returned an EC point of unexpected length ${value.length}`);
  return value.subarray(headerLength);
}

/** A key object found on the token, described as far as the gateway's specs go. */
export interface TokenKey { label: string; id: Buffer; spec?: KeySpec; usage?: KeyUsage; nativeSpec: string }

const ED25519_NAMED = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]).toString('hex');
const GATEWAY_LABEL = /^key_[0-9a-z]{26}$/;
export const isGatewayLabel = (label: string) => GATEWAY_LABEL.test(label);

/** A key object's handle with what orders it: label, then id. */
export interface KeyObject { handle: Handle; label: string; id: Buffer }

/** Where an object stands in (label, id) order; \u0001 separates them because jsonb cursors cannot hold \u0000. */
export const placeOf = (o: { label: string; id: Buffer }) => `${o.label}\u0001${o.id.toString('hex')}`;

/**
 * Every secret and private key on the token, in (label, id) order so a listing can resume after an
 * object; public keys are the other half of a private one. Only the label and id are read here.
 * Objects without a CKA_ID cannot be addressed by the gateway's references and are left out.
 */
export function listKeyObjects(lib: PKCS11, p: Pkcs11Lib, session: Handle): KeyObject[] {
  const handles: Handle[] = [];
  for (const cls of [p.CKO_SECRET_KEY, p.CKO_PRIVATE_KEY]) {
    lib.C_FindObjectsInit(session, [{ type: p.CKA_CLASS, value: cls }, { type: p.CKA_TOKEN, value: true }]);
    try {
      for (let batch = lib.C_FindObjects(session, 256); batch.length > 0; batch = lib.C_FindObjects(session, 256)) handles.push(...batch);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  }
  const objects = handles.map((handle) => {
    const [label, id] = lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_LABEL }, { type: p.CKA_ID }]).map((a) => a.value as Buffer);
    return { handle, label: label!.toString(), id: id! };
  }).filter((o) => o.id.length > 0);
  return objects.sort((a, b) => (placeOf(a) < placeOf(b) ? -1 : 1));
}

/** A CK_ULONG attribute value (8 bytes on 64-bit platforms). */
const ulong = (b: Buffer): number => (b.length === 8 ? Number(b.readBigUInt64LE()) : b.readUIntLE(0, b.length));

/** What a key object is, as far as the gateway's specs go. */
export function describe(lib: PKCS11, p: Pkcs11Lib, session: Handle, h: Handle): TokenKey {
  const [label, id, keyType, cls] = lib.C_GetAttributeValue(session, h, [{ type: p.CKA_LABEL }, { type: p.CKA_ID }, { type: p.CKA_KEY_TYPE }, { type: p.CKA_CLASS }])
    .map((a) => a.value as Buffer);
  const type = ulong(keyType!);
  const flag = (attr: number) => (lib.C_GetAttributeValue(session, h, [{ type: attr }])[0]!.value as Buffer)[0] === 1;
  const base = { label: label!.toString(), id: id! };
  if (ulong(cls!) === p.CKO_SECRET_KEY) {
    const bytes = ulong(lib.C_GetAttributeValue(session, h, [{ type: p.CKA_VALUE_LEN }])[0]!.value as Buffer);
    if (type === p.CKK_AES) {
      const usage: KeyUsage = flag(p.CKA_WRAP) ? 'WRAP_UNWRAP' : 'ENCRYPT_DECRYPT';
      return { ...base, nativeSpec: `AES-${bytes * 8}`, ...(bytes === 32 && { spec: 'AES_256' as const, usage }) };
    }
    const hmacSpec = ({ 32: 'HMAC_256', 48: 'HMAC_384', 64: 'HMAC_512' } as const)[bytes];
    return { ...base, nativeSpec: `GENERIC_SECRET-${bytes * 8}`, ...(type === p.CKK_GENERIC_SECRET && hmacSpec && flag(p.CKA_SIGN) && { spec: hmacSpec, usage: 'MAC' as const }) };
  }
  if (type === p.CKK_RSA) {
    const bits = (lib.C_GetAttributeValue(session, h, [{ type: p.CKA_MODULUS }])[0]!.value as Buffer).length * 8;
    const spec = ({ 2048: 'RSA_2048', 3072: 'RSA_3072', 4096: 'RSA_4096' } as const)[bits];
    const usage: KeyUsage = flag(p.CKA_SIGN) ? 'SIGN_VERIFY' : flag(p.CKA_UNWRAP) ? 'WRAP_UNWRAP' : 'ENCRYPT_DECRYPT';
    return { ...base, nativeSpec: `RSA-${bits}`, ...(spec && { spec, usage }) };
  }
  const params = (lib.C_GetAttributeValue(session, h, [{ type: p.CKA_EC_PARAMS }])[0]!.value as Buffer).toString('hex');
  // Ed25519 keys name their curve by OID or, as PKCS#11 3.0 allows (SoftHSM2 does), as PrintableString "edwards25519".
  const spec = params === ED25519_NAMED ? 'ED25519' : (Object.entries(curves).find(([, c]) => c.params === params)?.[0]) as KeySpec | undefined;
  return { ...base, nativeSpec: `EC-${params}`, ...(spec && { spec, usage: 'SIGN_VERIFY' as const }) };
}
