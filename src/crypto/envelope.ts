// The gateway envelope, format 1 (docs/envelope.md specifies it byte by byte). Pure functions:
// encoding, decoding and the committing AES-256-GCM body. Wrapping the DEK under bindings is the
// key service's work.
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { random } from './random.ts';
import { KmsError, needs } from '../errors.ts';

export const FORMAT_VERSION = 1;
export const SUITE_AES256GCM_HKDFSHA512_COMMIT = 1;
const MESSAGE_ID = 32;
const COMMITMENT = 32;
const IV = 12;
const TAG = 16;
const DERIVE_INFO = Buffer.from('kmsgw envelope v1 key+commitment');
const BLOCK_1 = Buffer.from([1]);

export interface Header {
  keyId: string;
  keyVersion: number;
  messageId: Buffer;
  commitment: Buffer;
  iv: Buffer;
}

/** One wrapped copy of the DEK: the binding that wrapped it and the provider's ciphertext. */
export interface Wrap { bindingId: string; wrapped: Uint8Array }

export interface Envelope { header: Header; headerBytes: Buffer; wraps: Wrap[]; body: Buffer }

export type EncryptionContext = Record<string, string>;

export function encodeHeader(h: Header): Buffer {
  const keyId = Buffer.from(h.keyId, 'ascii');
  const version = Buffer.alloc(4);
  version.writeUInt32BE(h.keyVersion);
  return Buffer.concat([Buffer.from([FORMAT_VERSION, SUITE_AES256GCM_HKDFSHA512_COMMIT, keyId.length]), keyId, version, h.messageId, h.commitment, h.iv]);
}

export function encodeEnvelope(headerBytes: Buffer, wraps: Wrap[], body: Buffer): Buffer {
  needs(wraps.length >= 1 && wraps.length <= 255, 'INTERNAL', 'an envelope carries 1 to 255 wraps');
  const parts: Buffer[] = [headerBytes, Buffer.from([wraps.length])];
  for (const w of wraps) {
    const id = Buffer.from(w.bindingId, 'ascii');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(w.wrapped.length);
    parts.push(Buffer.from([id.length]), id, len, Buffer.from(w.wrapped));
  }
  parts.push(body);
  return Buffer.concat(parts);
}

const invalid = (detail: string) => new KmsError('INVALID_ARGUMENT', `ciphertext is not a valid envelope: ${detail}`, { field: 'ciphertext' });

export function decodeEnvelope(bytes: Buffer): Envelope {
  let at = 0;
  const take = (n: number, what: string): Buffer => {
    if (at + n > bytes.length) throw invalid(`truncated in ${what}`);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const [format, suite, keyIdLength] = take(3, 'header');
  if (format !== FORMAT_VERSION) throw invalid(`unknown format version ${format}`);
  if (suite !== SUITE_AES256GCM_HKDFSHA512_COMMIT) throw invalid(`unknown algorithm suite ${suite}`);
  const keyId = take(keyIdLength!, 'key id').toString('ascii');
  const keyVersion = take(4, 'key version').readUInt32BE(0);
  const messageId = take(MESSAGE_ID, 'message id');
  const commitment = take(COMMITMENT, 'commitment');
  const iv = take(IV, 'iv');
  const headerBytes = bytes.subarray(0, at);
  const count = take(1, 'wrap count')[0]!;
  if (count === 0) throw invalid('no wrapped data key');
  const wraps: Wrap[] = [];
  for (let i = 0; i < count; i++) {
    const bindingId = take(take(1, 'wrap')[0]!, 'wrap binding').toString('ascii');
    const wrapped = take(take(2, 'wrap').readUInt16BE(0), 'wrapped key');
    wraps.push({ bindingId, wrapped });
  }
  const body = bytes.subarray(at);
  if (body.length < TAG) throw invalid('truncated in body');
  return { header: { keyId, keyVersion, messageId, commitment, iv }, headerBytes, wraps, body };
}

/** The AAD that binds a wrapped DEK to its envelope header. */
export const wrapAad = (headerBytes: Buffer): Buffer => createHash('sha256').update(headerBytes).digest();

const EMPTY_CONTEXT_DIGEST = createHash('sha256').digest();

/** Canonical encoding of the encryption context: pairs sorted by key, each string as u16 length + UTF-8. */
export function contextDigest(context: EncryptionContext = {}): Buffer {
  const keys = Object.keys(context);
  if (keys.length === 0) return EMPTY_CONTEXT_DIGEST;
  const h = createHash('sha256');
  for (const k of keys.sort()) {
    for (const s of [k, context[k]!]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(b.length);
      h.update(len).update(b);
    }
  }
  return h.digest();
}

/**
 * The message's encryption key and commitment: HKDF-Expand-SHA-512 (RFC 5869) with the DEK as PRK
 * and info = label || message id, one 64-byte block. The extract step is skipped as §3.3 allows:
 * a DEK is 32 uniformly random bytes, and each HMAC costs microseconds on the hot path.
 */
export function derive(dek: Uint8Array, messageId: Buffer): { key: Buffer; commitment: Buffer } {
  const okm = createHmac('sha512', dek).update(DERIVE_INFO).update(messageId).update(BLOCK_1).digest();
  return { key: okm.subarray(0, 32), commitment: okm.subarray(32) };
}

export interface SealInput {
  keyId: string;
  keyVersion: number;
  dek: Uint8Array;
  plaintext: Uint8Array;
  context?: EncryptionContext;
  /** Fixed only by test vectors; random otherwise. */
  messageId?: Buffer;
  iv?: Buffer;
}

/** Encrypts the body and returns the header (to be wrapped against), its message id and the body. */
export function sealBody(input: SealInput): { headerBytes: Buffer; messageId: Buffer; body: Buffer } {
  const messageId = input.messageId ?? random(MESSAGE_ID);
  const iv = input.iv ?? random(IV);
  const { key, commitment } = derive(input.dek, messageId);
  const headerBytes = encodeHeader({ keyId: input.keyId, keyVersion: input.keyVersion, messageId, commitment, iv });
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.concat([headerBytes, contextDigest(input.context)]));
  const body = Buffer.concat([cipher.update(input.plaintext), cipher.final(), cipher.getAuthTag()]);
  return { headerBytes, messageId, body };
}

/** Checks the DEK against the header's commitment, then decrypts and authenticates the body. */
export function openBody(env: Envelope, dek: Uint8Array, context?: EncryptionContext): Buffer {
  const { key, commitment } = derive(dek, env.header.messageId);
  if (!timingSafeEqual(commitment, env.header.commitment)) {
    throw new KmsError('INVALID_ARGUMENT', 'ciphertext failed its key commitment check', { field: 'ciphertext' });
  }
  const tag = env.body.subarray(env.body.length - TAG);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, env.header.iv)
      .setAAD(Buffer.concat([env.headerBytes, contextDigest(context)]))
      .setAuthTag(tag);
    return Buffer.concat([decipher.update(env.body.subarray(0, env.body.length - TAG)), decipher.final()]);
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'ciphertext or encryption context failed authentication', { field: 'ciphertext', cause });
  }
}
