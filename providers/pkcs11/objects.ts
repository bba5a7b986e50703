// Key objects on the token: generation templates per spec and usage (sensitive always, extractable
// only for exportable keys), finding a version's objects by CKA_ID, the KMIP exportability
// attributes read back from the token, and public keys as DER SubjectPublicKeyInfo.
import { createPublicKey, type KeyObject as CryptoKeyObject } from 'node:crypto';
import type { Handle, PKCS11, Template } from 'pkcs11js';
import { KmsError } from '../../src/errors.ts';
import { specInfo, type KeySpec, type KeyUsage } from '../../src/keys/specs.ts';
import type { MaterialAttributes } from '../provider.ts';
import { CKK_EC_EDWARDS, CKM_EC_EDWARDS_KEY_PAIR_GEN } from './mechanisms.ts';
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

/**
 * The templates of a new key's objects, whether generated or imported: its secret (or private) part
 * and, for key pairs, its public part, each with class, key type and only its own usage attributes.
 */
function templates(p: Pkcs11Lib, k: NewKey): { secret: Template; public?: Template } {
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
    return { secret: [
      ...secretSide, { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: info.family === 'aes' ? p.CKK_AES : p.CKK_GENERIC_SECRET },
      ...use(flags, ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap']),
    ] };
  }
  const pub = k.usage === 'SIGN_VERIFY' ? { verify: true } : k.usage === 'WRAP_UNWRAP' ? { wrap: true } : { encrypt: true };
  const priv = k.usage === 'SIGN_VERIFY' ? { sign: true } : k.usage === 'WRAP_UNWRAP' ? { unwrap: true } : { decrypt: true };
  const keyType = { type: p.CKA_KEY_TYPE, value: info.family === 'rsa' ? p.CKK_RSA : info.family === 'ed25519' ? CKK_EC_EDWARDS : p.CKK_EC };
  return {
    secret: [...secretSide, { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, keyType, ...use(priv, ['decrypt', 'sign', 'unwrap'])],
    public: [...common, { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY }, keyType, { type: p.CKA_PRIVATE, value: false }, ...use(pub, ['encrypt', 'verify', 'wrap'])],
  };
}

/** Generates the key inside the token and returns the handle of its secret or private part. */
export async function generate(lib: PKCS11, p: Pkcs11Lib, session: Handle, k: NewKey): Promise<Handle> {
  const info = specInfo[k.spec];
  const t = templates(p, k);
  if (!t.public) {
    const mechanism = info.family === 'aes' ? p.CKM_AES_KEY_GEN : p.CKM_GENERIC_SECRET_KEY_GEN;
    return lib.C_GenerateKeyAsync(session, { mechanism }, [...t.secret, { type: p.CKA_VALUE_LEN, value: info.bits / 8 }]);
  }
  if (info.family === 'rsa') {
    const publicSide = [...t.public, { type: p.CKA_MODULUS_BITS, value: info.bits }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }];
    return (await lib.C_GenerateKeyPairAsync(session, { mechanism: p.CKM_RSA_PKCS_KEY_PAIR_GEN }, publicSide, t.secret)).privateKey;
  }
  const mechanism = info.family === 'ed25519' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p.CKM_EC_KEY_PAIR_GEN;
  const publicSide = [...t.public, { type: p.CKA_EC_PARAMS, value: Buffer.from(curves[k.spec]!.params, 'hex') }];
  return (await lib.C_GenerateKeyPairAsync(session, { mechanism }, publicSide, t.secret)).privateKey;
}

/**
 * The template a key's wrapped material unwraps into (its secret or private part), and the public
 * part of a key pair as an object of its own, from its DER SubjectPublicKeyInfo: unwrapping a
 * private key makes no public key object, and an EC private key does not hold its point.
 */
export function importTemplates(p: Pkcs11Lib, k: NewKey, publicKey?: Uint8Array): { secret: Template; public?: Template } {
  const t = templates(p, k);
  if (!t.public) return t;
  if (!publicKey) throw new KmsError('INVALID_ARGUMENT', `a ${k.spec} key's material comes with its public key`);
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  const expected = specInfo[k.spec];
  if (expected.family === 'rsa') {
    if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== expected.bits) throw new KmsError('INVALID_ARGUMENT', `the public key is not a ${k.spec} key`);
    return { secret: t.secret, public: [...t.public, ...rsaPublicAttributes(p, key)] };
  }
  const jwk = key.export({ format: 'jwk' });
  const curve = curves[k.spec]!;
  if (jwk.crv !== curve.crv) throw new KmsError('INVALID_ARGUMENT', `the public key is not a ${k.spec} key`);
  const point = k.spec === 'ED25519' ? Buffer.from(jwk.x!, 'base64url') : Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  // CKA_EC_POINT is the point inside a DER OCTET STRING (every point here is under 128 bytes).
  return { secret: t.secret, public: [
    ...t.public, { type: p.CKA_EC_PARAMS, value: Buffer.from(curve.params, 'hex') }, { type: p.CKA_EC_POINT, value: Buffer.concat([Buffer.of(4, point.length), point]) },
  ] };
}

/** An RSA public key's modulus and exponent, as token attributes. */
export function rsaPublicAttributes(p: Pkcs11Lib, key: CryptoKeyObject): Template {
  const jwk = key.export({ format: 'jwk' });
  return [{ type: p.CKA_MODULUS, value: Buffer.from(jwk.n!, 'base64url') }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from(jwk.e!, 'base64url') }];
}

/**
 * An imported RSA key must be the one of the public half given. (A secret key's length cannot be
 * checked: SoftHSM2 refuses CKA_VALUE_LEN in an unwrap template and leaves it 0 on the object.)
 */
export function checkImported(lib: PKCS11, p: Pkcs11Lib, session: Handle, handle: Handle, spec: KeySpec, publicTemplate?: Template): void {
  if (specInfo[spec].family !== 'rsa') return;
  const modulus = lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_MODULUS }])[0]!.value as Buffer;
  if (!modulus.equals(publicTemplate!.find((a) => a.type === p.CKA_MODULUS)!.value as Buffer)) {
    throw new KmsError('INVALID_ARGUMENT', `the imported material is not the ${spec} key of the public key given`);
  }
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

/** A version's objects by part: what is on the token of it. */
export function findParts(lib: PKCS11, p: Pkcs11Lib, session: Handle, id: Buffer): Map<Part, Handle> {
  const parts = new Map<Part, Handle>();
  for (const handle of findAll(lib, p, session, id)) {
    const cls = ulong(lib.C_GetAttributeValue(session, handle, [{ type: p.CKA_CLASS }])[0]!.value as Buffer);
    const part = cls === p.CKO_SECRET_KEY ? 'secret' : cls === p.CKO_PRIVATE_KEY ? 'private' : cls === p.CKO_PUBLIC_KEY ? 'public' : undefined;
    if (part) parts.set(part, handle);
  }
  return parts;
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
      // 0: the token does not say (SoftHSM2 leaves it 0 on an unwrapped key; the gateway's own are matched by label first).
      return { ...base, nativeSpec: bytes === 0 ? 'AES of a length the token does not give' : `AES-${bytes * 8}`, ...(bytes === 32 && { spec: 'AES_256' as const, usage }) };
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
