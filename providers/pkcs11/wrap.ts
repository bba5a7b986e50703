// Wrapping inside the token: key material a caller brings (held as a session object only as long
// as the call), and export of the token's own exportable keys wrapped for a cloud's import scheme.
// The material is wrapped by the token itself; it is never in the gateway's memory in the clear.
import { createPublicKey } from 'node:crypto';
import type { Handle, Mechanism, PKCS11, Template } from 'pkcs11js';
import { schemeParts } from '../../src/crypto/keywrap.ts';
import { KmsError } from '../../src/errors.ts';
import type { ExportScheme } from '../provider.ts';
import { oaep } from './mechanisms.ts';
import { rsaPublicAttributes } from './objects.ts';
import { ckr, type Pkcs11Lib } from './token.ts';

/** Room for the largest wrapped key: PKCS#8 of RSA-4096 under OAEP and KWP. */
const WRAP_BUFFER = 8192;

/** A session object (gone with the session, destroyed after use) that the token may wrap or read. */
const transient = (p: Pkcs11Lib): Template => [
  { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
  { type: p.CKA_TOKEN, value: false }, { type: p.CKA_EXTRACTABLE, value: true }, { type: p.CKA_SENSITIVE, value: false },
];

export async function wrapBytes(lib: PKCS11, p: Pkcs11Lib, s: Handle, mechanism: Mechanism, wrappingKey: Handle, bytes: Uint8Array): Promise<Buffer> {
  const obj = lib.C_CreateObject(s, [...transient(p), { type: p.CKA_VALUE, value: Buffer.from(bytes) }]);
  try {
    return await supported(lib.C_WrapKeyAsync(s, mechanism, wrappingKey, obj, Buffer.alloc(WRAP_BUFFER)));
  } finally {
    lib.C_DestroyObject(s, obj);
  }
}

export async function unwrapBytes(lib: PKCS11, p: Pkcs11Lib, s: Handle, mechanism: Mechanism, unwrappingKey: Handle, wrapped: Uint8Array): Promise<Buffer> {
  const obj = await unwrap(lib, s, mechanism, unwrappingKey, wrapped, transient(p));
  try {
    return lib.C_GetAttributeValue(s, obj, [{ type: p.CKA_VALUE }])[0]!.value as Buffer;
  } finally {
    lib.C_DestroyObject(s, obj);
  }
}

/**
 * Whether the token zero-pads before RFC 5649 wrapping (SoftHSM2 2.6 does: 7 bytes wrap as the
 * 8 bytes with a zero appended), which breaks the standard for lengths not a multiple of 8.
 */
export async function kwpPadsWithZeros(lib: PKCS11, p: Pkcs11Lib, s: Handle, kek: Handle): Promise<boolean> {
  const kwp = { mechanism: p.CKM_AES_KEY_WRAP_PAD };
  const seven = Buffer.from('kmsgw-7');
  return (await wrapBytes(lib, p, s, kwp, kek, seven)).equals(await wrapBytes(lib, p, s, kwp, kek, Buffer.concat([seven, Buffer.alloc(1)])));
}

/**
 * The token's key `target` wrapped for an importer (CKM_RSA_AES_KEY_WRAP done in two token steps,
 * as tokens without that mechanism need): the token refuses a key that is not extractable.
 */
export async function exportWrapped(lib: PKCS11, p: Pkcs11Lib, s: Handle, target: Handle, importerDer: Uint8Array, scheme: ExportScheme): Promise<Buffer> {
  const importer = lib.C_CreateObject(s, [
    { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY }, { type: p.CKA_KEY_TYPE, value: p.CKK_RSA }, { type: p.CKA_TOKEN, value: false },
    { type: p.CKA_WRAP, value: true }, ...rsaPublicAttributes(p, createPublicKey({ key: Buffer.from(importerDer), format: 'der', type: 'spki' })),
  ]);
  const transients = [importer];
  try {
    const { hash, withAes } = schemeParts(scheme);
    if (!withAes) return await supported(lib.C_WrapKeyAsync(s, oaep(p, hash), importer, target, Buffer.alloc(WRAP_BUFFER)));
    const ephemeral = await lib.C_GenerateKeyAsync(s, { mechanism: p.CKM_AES_KEY_GEN }, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_TOKEN, value: false }, { type: p.CKA_VALUE_LEN, value: 32 },
      { type: p.CKA_WRAP, value: true }, { type: p.CKA_EXTRACTABLE, value: true }, { type: p.CKA_SENSITIVE, value: false },
    ]);
    transients.push(ephemeral);
    const inner = await supported(lib.C_WrapKeyAsync(s, { mechanism: p.CKM_AES_KEY_WRAP_PAD }, ephemeral, target, Buffer.alloc(WRAP_BUFFER)));
    const outer = await supported(lib.C_WrapKeyAsync(s, oaep(p, hash), importer, ephemeral, Buffer.alloc(WRAP_BUFFER)));
    return Buffer.concat([outer, inner]);
  } finally {
    for (const h of transients) lib.C_DestroyObject(s, h);
  }
}

/**
 * Material wrapped for the token's import key (`unwrapper`, the private half of an RSA pair) under
 * an import scheme, unwrapped into a new object of `template` (CKM_RSA_AES_KEY_WRAP in two token
 * steps, as for export): the material is in the clear only inside the token.
 */
export async function importWrapped(lib: PKCS11, p: Pkcs11Lib, s: Handle, unwrapper: Handle, modulusBytes: number, scheme: ExportScheme, wrapped: Uint8Array, template: Template): Promise<Handle> {
  const { hash, withAes } = schemeParts(scheme);
  if (!withAes) return unwrap(lib, s, oaep(p, hash), unwrapper, wrapped, template);
  const ephemeral = await unwrap(lib, s, oaep(p, hash), unwrapper, wrapped.subarray(0, modulusBytes), [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: p.CKK_AES }, { type: p.CKA_TOKEN, value: false }, { type: p.CKA_UNWRAP, value: true },
  ]);
  try {
    return await unwrap(lib, s, { mechanism: p.CKM_AES_KEY_WRAP_PAD }, ephemeral, wrapped.subarray(modulusBytes), template);
  } finally {
    lib.C_DestroyObject(s, ephemeral);
  }
}

async function unwrap(lib: PKCS11, s: Handle, mechanism: Mechanism, unwrappingKey: Handle, wrapped: Uint8Array, template: Template): Promise<Handle> {
  try {
    return await lib.C_UnwrapKeyAsync(s, mechanism, unwrappingKey, Buffer.from(wrapped), template);
  } catch (err) {
    if (['CKR_WRAPPED_KEY_INVALID', 'CKR_WRAPPED_KEY_LEN_RANGE', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_GENERAL_ERROR'].includes(ckr(err) ?? '')) {
      throw new KmsError('INVALID_ARGUMENT', 'the wrapped key failed its integrity check', { cause: err });
    }
    throw unsupported(err);
  }
}

/** A mechanism parameter the token lacks (SoftHSM2 2.6: OAEP with SHA-1 only) is UNIMPLEMENTED, said plainly. */
function unsupported(err: unknown): unknown {
  if (!['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_PARAM_INVALID', 'CKR_MECHANISM_INVALID'].includes(ckr(err) ?? '')) return err;
  return new KmsError('UNIMPLEMENTED', 'the token does not support this wrapping mechanism or its parameters (SoftHSM2 does RSA-OAEP with SHA-1 only)', { cause: err });
}

async function supported(result: Promise<Buffer>): Promise<Buffer> {
  try {
    return await result;
  } catch (err) {
    throw unsupported(err);
  }
}
