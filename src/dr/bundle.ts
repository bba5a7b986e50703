// The backup bundle (docs/backup.md), streamed both ways so that its size is bound by the disk, not
// by memory. Format 2 is binary: a magic line, the payload (gzipped JSON lines under AES-256-GCM
// with a fresh key), then the header (JSON text, kept as bytes so that the bytes signed are the
// bytes read back), the signature, and a trailer of their lengths. The header comes after the
// payload because it counts what the payload holds. The payload key is wrapped by every binding of
// the backup key, and the header names those bindings themselves, not only the gateway ids: a
// restore goes into a gateway whose database knows no keys. Format 1 (one JSON document, built in
// memory) is still read.
import { createCipheriv, createDecipheriv, createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable, Writable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { random } from '../crypto/random.ts';
import { KmsError } from '../errors.ts';
import { keySpecs, signingAlgorithms, signingHash, type KeySpec, type SigningAlgorithm } from '../keys/specs.ts';
import type { Connections } from '../routing/connection.ts';
import { isSigner, withCapability } from '../../providers/provider.ts';
import { format1Records } from './content.ts';

export const BUNDLE_FORMAT = 'kmsgw-backup/2';
const FORMAT_1 = 'kmsgw-backup/1';
const MAGIC = Buffer.from(`${BUNDLE_FORMAT}\n`);
/** u32 header length, u16 signature length. */
const TRAILER = 6;
const TAG = 16;

const binding = z.object({ connection: z.string(), provider: z.string(), ref: z.string(), versionRef: z.string() });
export type BackupKeyBinding = z.infer<typeof binding>;

const headerSchema = z.object({
  format: z.enum([BUNDLE_FORMAT, FORMAT_1]),
  id: z.string(),
  createdAt: z.string(),
  /** What the payload holds, readable without opening it. */
  contents: z.object({ keys: z.number(), policies: z.number(), materials: z.number(), auditHead: z.object({ seq: z.number(), hash: z.string() }).nullable() }),
  encryption: z.object({ keyId: z.string(), version: z.number(), spec: z.enum(keySpecs), wraps: z.array(binding.extend({ wrapped: z.string() })).min(1) }),
  signing: binding.extend({ keyId: z.string(), version: z.number(), spec: z.enum(keySpecs), algorithm: z.enum(signingAlgorithms) }),
  iv: z.string(),
});
export type BundleHeader = z.infer<typeof headerSchema>;

const format1Schema = z.object({ format: z.literal(FORMAT_1), header: z.string(), payload: z.string(), signature: z.string() });

export interface BackupKeys {
  encryption: { keyId: string; version: number; spec: KeySpec; bindings: BackupKeyBinding[] };
  signing: BackupKeyBinding & { keyId: string; version: number; spec: KeySpec; algorithm: SigningAlgorithm };
}

/** Where a bundle's bytes go, in order: a file, a response. */
export type Sink = (chunk: Buffer) => Promise<void>;

/**
 * Writes a bundle of `lines` (each one JSON text) to `sink`. `contents` is asked once every line is
 * written. Every binding of the encryption key must wrap.
 */
export async function writeBundle(
  connections: Connections, keys: BackupKeys, head: Pick<BundleHeader, 'id' | 'createdAt'>, lines: AsyncIterable<string>,
  contents: () => BundleHeader['contents'], sink: Sink,
): Promise<void> {
  const dek = random(32);
  try {
    const wraps = await Promise.all(keys.encryption.bindings.map(async (b) => {
      const wrapped = await connections.get(b.connection).call('encrypt', (p) => p.encrypt({ ref: b.ref, versionRef: b.versionRef, spec: keys.encryption.spec, plaintext: dek, aad: dekAad(BUNDLE_FORMAT, head.id) }));
      return { ...b, wrapped: Buffer.from(wrapped).toString('base64') };
    }));
    const iv = random(12);
    await sink(MAGIC);
    const payloadHash = createHash('sha256');
    const cipher = createCipheriv('aes-256-gcm', dek, iv).setAAD(payloadAad(head.id));
    await pipelineAsync(Readable.from(withNewlines(lines)), createGzip(), cipher, hashedInto(payloadHash, sink));
    const tag = cipher.getAuthTag();
    payloadHash.update(tag);
    await sink(tag);
    const header: BundleHeader = {
      format: BUNDLE_FORMAT, ...head, contents: contents(),
      encryption: { keyId: keys.encryption.keyId, version: keys.encryption.version, spec: keys.encryption.spec, wraps }, signing: keys.signing, iv: iv.toString('base64'),
    };
    const headerBytes = Buffer.from(JSON.stringify(header));
    const s = keys.signing;
    const signature = Buffer.from(await connections.get(s.connection).call('sign', (p) => withCapability(p, isSigner, 'sign').sign({
      ref: s.ref, versionRef: s.versionRef, spec: s.spec, algorithm: s.algorithm, ...toBeSigned(s.algorithm, digest(headerBytes), payloadHash.digest()),
    })));
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeUInt32BE(headerBytes.length, 0);
    trailer.writeUInt16BE(signature.length, 4);
    await sink(Buffer.concat([headerBytes, signature, trailer]));
  } finally {
    dek.fill(0);
  }
}

/** Runs `write` into `out` (0600) through `out.partial`, synced and renamed when whole, so that `out` is never a bundle cut short. */
export async function intoFile<T>(out: string, write: (sink: Sink) => Promise<T>): Promise<T> {
  const partial = `${out}.partial`;
  const file = await open(partial, 'w', 0o600);
  try {
    const result = await write(async (chunk) => { await file.write(chunk); });
    await file.sync();
    await file.close();
    await rename(partial, out);
    return result;
  } catch (err) {
    await file.close().catch(() => {});
    await rm(partial, { force: true });
    throw err;
  }
}

/** An opened bundle: its header, and its payload's lines, read from the file as they are consumed (as often as asked, until closed). */
export interface OpenedBundle { header: BundleHeader; lines: () => AsyncIterable<string>; close: () => void }

/** Where a format 2 bundle's parts lie in its file. */
interface Layout { header: BundleHeader; headerBytes: Buffer; signature: Buffer; payloadStart: number; payloadEnd: number; tag: Buffer }

/** The header alone, for looking at a bundle without its keys. */
export async function readHeader(path: string): Promise<BundleHeader> {
  const found = await examine(path);
  return 'format1' in found ? parseFormat1(found.format1).header : found.layout.header;
}

/** A bundle's file as first read, in one opening: a format 1 document whole, or where a format 2 bundle's parts lie. */
function examine(path: string): Promise<{ format1: string } | { layout: Layout }> {
  return withFile(path, async (file, size) => (await isFormat1(file) ? { format1: await file.readFile('utf8') } : { layout: await layout(file, size) }));
}

/**
 * Checks the signature with the signing key's binding, unwraps the payload key with the first
 * binding of the encryption key that answers, and answers the header and the payload's lines. The
 * signature covers the whole payload, so it is read twice: once to check it, then to open it.
 */
export async function openBundle(connections: Connections, path: string): Promise<OpenedBundle> {
  const found = await examine(path);
  if ('format1' in found) return openFormat1(connections, found.format1);
  const l = found.layout;
  const payloadHash = createHash('sha256');
  await pipelineAsync(createReadStream(path, { start: l.payloadStart, end: l.payloadEnd - 1 }), hashedInto(payloadHash));
  await checkSignature(connections, l.header, digest(l.headerBytes), payloadHash.digest(), l.signature);
  const dek = await unwrapDek(connections, l.header);
  return {
    header: l.header,
    close: () => dek.fill(0),
    lines: () => {
      const decipher = createDecipheriv('aes-256-gcm', dek, Buffer.from(l.header.iv, 'base64')).setAAD(payloadAad(l.header.id)).setAuthTag(l.tag);
      // The callback form ends every stream on a failure, so that reading the last one throws it.
      const plain = pipeline(createReadStream(path, { start: l.payloadStart, end: l.payloadEnd - TAG - 1 }), decipher, createGunzip(), () => {});
      return splitLines(plain, 'the bundle\'s payload fails authentication');
    },
  };
}

async function openFormat1(connections: Connections, text: string): Promise<OpenedBundle> {
  const { file, header } = parseFormat1(text);
  const payload = Buffer.from(file.payload, 'base64');
  await checkSignature(connections, header, digest(Buffer.from(file.header)), digest(payload), Buffer.from(file.signature, 'base64'));
  const dek = await unwrapDek(connections, header);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dek, Buffer.from(header.iv, 'base64')).setAAD(Buffer.from(file.header)).setAuthTag(payload.subarray(payload.length - TAG));
    const content = JSON.parse(gunzipSync(Buffer.concat([decipher.update(payload.subarray(0, payload.length - TAG)), decipher.final()])).toString()) as unknown;
    return { header, lines: () => format1Lines(content), close: () => {} };
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'the bundle\'s payload fails authentication', { cause });
  } finally {
    dek.fill(0);
  }
}

async function* format1Lines(content: unknown): AsyncIterable<string> {
  yield* format1Records(content as Parameters<typeof format1Records>[0]);
}

async function checkSignature(connections: Connections, header: BundleHeader, headerDigest: Buffer, payloadDigest: Buffer, signature: Buffer): Promise<void> {
  const s = header.signing;
  const signingConnection = configured(connections, s.connection, 'the signing key');
  const valid = await signingConnection.call('verify', (p) => withCapability(p, isSigner, 'verify').verify({
    ref: s.ref, versionRef: s.versionRef, spec: s.spec, algorithm: s.algorithm, ...toBeSigned(s.algorithm, headerDigest, payloadDigest), signature,
  }));
  if (!valid) throw new KmsError('INVALID_ARGUMENT', `the bundle's signature does not verify with key ${s.keyId} on "${s.connection}": it was changed or made by another key`);
}

async function withFile<T>(path: string, fn: (file: FileHandle, size: number) => Promise<T>): Promise<T> {
  const file = await open(path, 'r');
  try {
    return await fn(file, (await stat(path)).size);
  } finally {
    await file.close();
  }
}

async function read(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, position);
  if (bytesRead !== length) throw notABundle();
  return buffer;
}

const isFormat1 = async (file: FileHandle) => (await file.read(Buffer.alloc(1), 0, 1, 0)).buffer[0] === 0x7b; // '{'

async function layout(file: FileHandle, size: number): Promise<Layout> {
  if (size < MAGIC.length + TAG + TRAILER || !(await read(file, 0, MAGIC.length)).equals(MAGIC)) throw notABundle();
  const trailer = await read(file, size - TRAILER, TRAILER);
  const headerLength = trailer.readUInt32BE(0);
  const signatureLength = trailer.readUInt16BE(4);
  const payloadEnd = size - TRAILER - signatureLength - headerLength;
  if (payloadEnd < MAGIC.length + TAG) throw notABundle();
  const headerBytes = await read(file, payloadEnd, headerLength);
  return {
    header: parseHeader(headerBytes.toString()), headerBytes, signature: await read(file, payloadEnd + headerLength, signatureLength),
    payloadStart: MAGIC.length, payloadEnd, tag: await read(file, payloadEnd - TAG, TAG),
  };
}

function parseHeader(text: string): BundleHeader {
  try {
    return headerSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw notABundle(cause);
  }
}

function parseFormat1(text: string): { file: z.infer<typeof format1Schema>; header: BundleHeader } {
  try {
    const file = format1Schema.parse(JSON.parse(text));
    return { file, header: parseHeader(file.header) };
  } catch (cause) {
    throw cause instanceof KmsError ? cause : notABundle(cause);
  }
}

const notABundle = (cause?: unknown) => new KmsError('INVALID_ARGUMENT', `not a ${BUNDLE_FORMAT} bundle (or a damaged one)`, { cause });

async function unwrapDek(connections: Connections, header: BundleHeader): Promise<Buffer> {
  const failures: string[] = [];
  for (const w of header.encryption.wraps) {
    const connection = connections.find(w.connection);
    if (!connection) { failures.push(`"${w.connection}" is not configured`); continue; }
    try {
      return Buffer.from(await connection.call('decrypt', (p) => p.decrypt({ ref: w.ref, versionRef: w.versionRef, spec: header.encryption.spec, ciphertext: Buffer.from(w.wrapped, 'base64'), aad: dekAad(header.format, header.id) })));
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

const dekAad = (format: string, id: string) => Buffer.from(`${format} ${id}`);
const payloadAad = (id: string) => Buffer.from(`${BUNDLE_FORMAT} ${id} payload`);
const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

/** The signature covers the header's bytes and the payload's, by their SHA-256 digests. */
function toBeSigned(algorithm: SigningAlgorithm, headerDigest: Buffer, payloadDigest: Buffer): { digest?: Buffer; message: Buffer } {
  const message = Buffer.concat([headerDigest, payloadDigest]);
  const hash = signingHash(algorithm);
  return hash ? { digest: createHash(hash.hash).update(message).digest(), message } : { message };
}

/** A stream's end that hashes what passes, and hands it to `sink` if one is given. */
function hashedInto(hash: Hash, sink?: Sink): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      if (!sink) return done();
      sink(chunk).then(() => done(), done);
    },
  });
}

async function* withNewlines(lines: AsyncIterable<string>): AsyncIterable<string> {
  for await (const line of lines) yield `${line}\n`;
}

/** The lines of a byte stream; a failure of the stream (the GCM tag checked at its end) becomes `failure`. */
async function* splitLines(stream: Readable, failure: string): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of stream) {
      const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', failure, { cause });
  }
  rest += decoder.end();
  if (rest !== '') throw new KmsError('INVALID_ARGUMENT', 'the bundle\'s payload ends in the middle of a record');
}
