// The backup bundle (docs/backup.md): one JSON file of a header, a payload and a signature. The
// header is JSON text kept as a string, so that the bytes signed are the bytes read back. The
// payload is gzipped JSON under AES-256-GCM with a fresh key (bound to the header as AAD), and that
// key is wrapped by every binding of the backup key. The header names the backup keys' bindings
// themselves, not only their gateway ids: a restore goes into a gateway whose database knows no keys.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { random } from '../crypto/random.ts';
import { KmsError } from '../errors.ts';
import { keySpecs, signingAlgorithms, signingHash, type KeySpec, type SigningAlgorithm } from '../keys/specs.ts';
import type { Connections } from '../routing/connection.ts';
import { isSigner, withCapability } from '../../providers/provider.ts';

export const BUNDLE_FORMAT = 'kmsgw-backup/1';

const binding = z.object({ connection: z.string(), provider: z.string(), ref: z.string(), versionRef: z.string() });
export type BackupKeyBinding = z.infer<typeof binding>;

const headerSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  id: z.string(),
  createdAt: z.string(),
  /** What the payload holds, readable without opening it. */
  contents: z.object({ keys: z.number(), policies: z.number(), materials: z.number(), auditHead: z.object({ seq: z.number(), hash: z.string() }).nullable() }),
  encryption: z.object({ keyId: z.string(), version: z.number(), spec: z.enum(keySpecs), wraps: z.array(binding.extend({ wrapped: z.string() })).min(1) }),
  signing: binding.extend({ keyId: z.string(), version: z.number(), spec: z.enum(keySpecs), algorithm: z.enum(signingAlgorithms) }),
  iv: z.string(),
});
export type BundleHeader = z.infer<typeof headerSchema>;

const fileSchema = z.object({ format: z.literal(BUNDLE_FORMAT), header: z.string(), payload: z.string(), signature: z.string() });

export interface BackupKeys {
  encryption: { keyId: string; version: number; spec: KeySpec; bindings: BackupKeyBinding[] };
  signing: BackupKeyBinding & { keyId: string; version: number; spec: KeySpec; algorithm: SigningAlgorithm };
}

/** Seals `content` (JSON-serializable) into a bundle's text. Every binding of the encryption key must wrap. */
export async function sealBundle(connections: Connections, keys: BackupKeys, head: Pick<BundleHeader, 'id' | 'createdAt' | 'contents'>, content: unknown): Promise<string> {
  const dek = random(32);
  try {
    const wraps = await Promise.all(keys.encryption.bindings.map(async (b) => {
      const wrapped = await connections.get(b.connection).call('encrypt', (p) => p.encrypt({ ref: b.ref, versionRef: b.versionRef, spec: keys.encryption.spec, plaintext: dek, aad: dekAad(head.id) }));
      return { ...b, wrapped: Buffer.from(wrapped).toString('base64') };
    }));
    const iv = random(12);
    const header: BundleHeader = { format: BUNDLE_FORMAT, ...head, encryption: { keyId: keys.encryption.keyId, version: keys.encryption.version, spec: keys.encryption.spec, wraps }, signing: keys.signing, iv: iv.toString('base64') };
    const headerText = JSON.stringify(header);
    const cipher = createCipheriv('aes-256-gcm', dek, iv).setAAD(Buffer.from(headerText));
    const payload = Buffer.concat([cipher.update(gzipSync(JSON.stringify(content))), cipher.final(), cipher.getAuthTag()]);
    const s = keys.signing;
    const signature = await connections.get(s.connection).call('sign', (p) => withCapability(p, isSigner, 'sign').sign({ ref: s.ref, versionRef: s.versionRef, spec: s.spec, algorithm: s.algorithm, ...toBeSigned(s.algorithm, headerText, payload) }));
    return JSON.stringify({ format: BUNDLE_FORMAT, header: headerText, payload: payload.toString('base64'), signature: Buffer.from(signature).toString('base64') });
  } finally {
    dek.fill(0);
  }
}

/** The header alone, for looking at a bundle without its keys. */
export function readHeader(text: string): BundleHeader {
  return parseBundle(text).header;
}

/**
 * Checks the signature with the signing key's binding, unwraps the payload key with the first
 * binding of the encryption key that answers, and returns the header and the content.
 */
export async function openBundle(connections: Connections, text: string): Promise<{ header: BundleHeader; content: unknown }> {
  const { file, header } = parseBundle(text);
  const payload = Buffer.from(file.payload, 'base64');
  const s = header.signing;
  const signingConnection = configured(connections, s.connection, 'the signing key');
  const valid = await signingConnection.call('verify', (p) => withCapability(p, isSigner, 'verify').verify({
    ref: s.ref, versionRef: s.versionRef, spec: s.spec, algorithm: s.algorithm, ...toBeSigned(s.algorithm, file.header, payload), signature: Buffer.from(file.signature, 'base64'),
  }));
  if (!valid) throw new KmsError('INVALID_ARGUMENT', `the bundle's signature does not verify with key ${s.keyId} on "${s.connection}": it was changed or made by another key`);
  const dek = await unwrapDek(connections, header);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dek, Buffer.from(header.iv, 'base64')).setAAD(Buffer.from(file.header)).setAuthTag(payload.subarray(payload.length - 16));
    const plain = Buffer.concat([decipher.update(payload.subarray(0, payload.length - 16)), decipher.final()]);
    return { header, content: JSON.parse(gunzipSync(plain).toString()) };
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'the bundle\'s payload fails authentication', { cause });
  } finally {
    dek.fill(0);
  }
}

function parseBundle(text: string): { file: z.infer<typeof fileSchema>; header: BundleHeader } {
  try {
    const file = fileSchema.parse(JSON.parse(text));
    return { file, header: headerSchema.parse(JSON.parse(file.header)) };
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', `not a ${BUNDLE_FORMAT} bundle (or a damaged one)`, { cause });
  }
}

async function unwrapDek(connections: Connections, header: BundleHeader): Promise<Buffer> {
  const failures: string[] = [];
  for (const w of header.encryption.wraps) {
    const connection = connections.find(w.connection);
    if (!connection) { failures.push(`"${w.connection}" is not configured`); continue; }
    try {
      return Buffer.from(await connection.call('decrypt', (p) => p.decrypt({ ref: w.ref, versionRef: w.versionRef, spec: header.encryption.spec, ciphertext: Buffer.from(w.wrapped, 'base64'), aad: dekAad(header.id) })));
    } catch (err) {
      failures.push(`"${w.connection}": ${(err as Error).message}`);
    }
  }
  throw new KmsError('FAILED_PRECONDITION', `no binding of backup key ${header.encryption.keyId} opened the bundle (${failures.join('; ')})`);
}

function configured(connections: Connections, name: string, what: string) {
  const c = connections.find(name);
  if (!c) throw new KmsError('FAILED_PRECONDITION', `${what} of the bundle is on connection "${name}", which is not configured here`);
  return c;
}

const dekAad = (id: string) => Buffer.from(`${BUNDLE_FORMAT} ${id}`);

/** The signature covers the header's bytes and the payload's, by their SHA-256 digests. */
function toBeSigned(algorithm: SigningAlgorithm, header: string, payload: Buffer): { digest?: Buffer; message: Buffer } {
  const message = Buffer.concat([createHash('sha256').update(header).digest(), createHash('sha256').update(payload).digest()]);
  const hash = signingHash(algorithm);
  return hash ? { digest: createHash(hash.hash).update(message).digest(), message } : { message };
}
