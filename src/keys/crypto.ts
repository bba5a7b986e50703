// Cryptographic operations on keys. Encrypt makes a gateway envelope: the data under a fresh DEK
// here, the DEK wrapped by every binding of the key (multi-wrap), so that any one binding opens it.
import { createHash, createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import { kwpUnwrap, schemeParts } from '../crypto/keywrap.ts';
import { checkedMaterial } from '../crypto/material.ts';
import { random } from '../crypto/random.ts';
import { KmsError, needs } from '../errors.ts';
import { decodeEnvelope, encodeEnvelope, openBody, sealBody, wrapAad, type EncryptionContext, type Wrap } from '../crypto/envelope.ts';
import { heldVersion, primaryBinding, type KeyGraph, type BindingGraph } from '../db/queries/keys.ts';
import {
  isExporter, isKeyWrapper, isMacer, isNativeCipher, isSigner, type Exporter, type ExportScheme, type KeyProvider, type KeyVersionRef, type KeyWrapper, type Macer,
  type NativeCipher, type Signer, type WrapAlgorithm,
} from '../../providers/provider.ts';
import type { Connections } from '../routing/connection.ts';
import { gather, hedge } from '../routing/hedge.ts';
import type { Metrics } from '../metrics.ts';
import type { KeyCache } from './cache.ts';
import type { Access } from '../policy/access.ts';
import type { Actor } from './model.ts';
import { lifecycleRefusal, type KeyOperation } from './lifecycle.ts';
import { signingHash, specInfo, type KeySpec, type KeyUsage, type SigningAlgorithm } from './specs.ts';

export interface Ciphertext { ciphertext: Buffer; keyId: string; version: number }

/**
 * Failover between a key's bindings: where failovers are counted (the runtime's metrics), how long
 * decrypt waits on a binding that has not answered before it asks the next one as well, and how
 * long encrypt waits for the other wraps once it has one.
 */
export interface Failover { metrics: Pick<Metrics, 'failovers' | 'missingWraps'>; afterMs: number; wrapWaitMs: number }

/**
 * Where envelopes sealed without some binding's wrap are recorded, so the sync job can add it, and
 * where decrypt finds the wraps it added once those the envelope carries all fail.
 */
export interface RepairLedger {
  record(entry: { messageId: Buffer; headerBytes: Buffer; keyId: string; keyVersion: number; wraps: Wrap[]; missing: string[] }): Promise<void>;
  /** The wraps recorded for the message beyond the `carried` bindings'. */
  added(messageId: Buffer, carried: string[]): Promise<Wrap[]>;
}

const usageOf: Partial<Record<KeyOperation, KeyUsage>> = {
  ENCRYPT: 'ENCRYPT_DECRYPT', DECRYPT: 'ENCRYPT_DECRYPT', GENERATE_DATA_KEY: 'ENCRYPT_DECRYPT',
  SIGN: 'SIGN_VERIFY', VERIFY: 'SIGN_VERIFY', MAC: 'MAC', VERIFY_MAC: 'MAC', WRAP: 'WRAP_UNWRAP', UNWRAP: 'WRAP_UNWRAP',
};

export class CryptoService {
  constructor(
    private readonly connections: Connections, private readonly cache: KeyCache, private readonly access: Access,
    private readonly failover: Failover, private readonly repairs: RepairLedger, private readonly logger?: Logger,
  ) {}

  async encrypt(actor: Actor, ref: string, plaintext: Uint8Array, context?: EncryptionContext, op: KeyOperation = 'ENCRYPT'): Promise<Ciphertext> {
    const graph = this.allow(actor, await this.cache.resolve(ref), op);
    const { key } = graph;
    const dek = random(32);
    const { headerBytes, messageId, body } = sealBody({ keyId: key.id, keyVersion: key.currentVersion, dek, plaintext, context });
    const aad = wrapAad(headerBytes);
    // Every binding that holds the version wraps the DEK (one that missed a rotation is behind until
    // the sync job catches it up). While some are down, or have not answered within the wait after
    // the first wrap, the envelope carries the wraps of the others and goes to repair.
    const holding = graph.bindings.filter((b) => b.versions.has(key.currentVersion));
    const results = await gather(holding.map((b) =>
      this.call(b, 'encrypt', (p) => p.encrypt({ ...versionOf(b, key.currentVersion), spec: key.spec, plaintext: dek, aad }))), this.failover.wrapWaitMs);
    const wraps = results.flatMap((wrapped, i) => (wrapped ? [{ bindingId: holding[i]!.id, wrapped }] : []));
    if (wraps.length < graph.bindings.length) {
      const missing = graph.bindings.filter((b) => !wraps.some((w) => w.bindingId === b.id));
      const connections = missing.map((b) => b.connection);
      this.logger?.warn({ keyId: key.id, version: key.currentVersion, missing: connections }, 'envelope made without the wraps of unavailable, slow or behind bindings; queued for repair');
      for (const connection of connections) this.failover.metrics.missingWraps.inc({ connection });
      actor.record.detail = { ...actor.record.detail, missingWraps: connections.join(',') };
      // Before the envelope leaves: one the repair does not know of could never get its missing wraps.
      await this.repairs.record({
        messageId, headerBytes, keyId: key.id, keyVersion: key.currentVersion, wraps, missing: missing.map((b) => b.id),
      });
    }
    return { ciphertext: encodeEnvelope(headerBytes, wraps, body), keyId: key.id, version: key.currentVersion };
  }

  async decrypt(actor: Actor, ciphertext: Buffer, context?: EncryptionContext): Promise<{ plaintext: Buffer; keyId: string; version: number }> {
    const env = decodeEnvelope(ciphertext);
    const { keyId, keyVersion } = env.header;
    const graph = await this.cache.resolve(keyId).catch((e) => {
      throw e instanceof KmsError && e.code !== 'NOT_FOUND' ? e : new KmsError('INVALID_ARGUMENT', 'ciphertext names a key that does not exist', { field: 'ciphertext' });
    });
    this.allow(actor, graph, 'DECRYPT', keyVersion);
    const failed: string[] = [];
    const tried = { any: false, last: undefined as unknown };
    // The wraps the envelope carries first; those the repair added only when all of them fail.
    const dek = await this.unwrapFirst(graph, keyVersion, env.headerBytes, env.wraps, failed, tried)
      ?? await this.unwrapFirst(graph, keyVersion, env.headerBytes, await this.repairs.added(env.header.messageId, env.wraps.map((w) => w.bindingId)), failed, tried);
    if (!dek) {
      needs(tried.any, 'INVALID_ARGUMENT', 'ciphertext has no data key wrapped by a binding of its key', { field: 'ciphertext' });
      throw tried.last;
    }
    this.failedOver(actor, 'decrypt', failed, dek.servedBy);
    return { plaintext: openBody(env, dek.dek, context), keyId, version: keyVersion };
  }

  /**
   * The DEK from the first of `wraps` whose binding opens it, the primary's first; the next binding is
   * asked as well when one fails or has not answered within the failover delay. A wrap that fails
   * authentication means tampering and ends it; the bindings passed over are noted in `failed`.
   */
  private async unwrapFirst(graph: KeyGraph, version: number, headerBytes: Buffer, wraps: Wrap[], failed: string[], tried: { any: boolean; last: unknown }) {
    const candidates = wraps.flatMap((w) => {
      const b = graph.bindings.find((x) => x.id === w.bindingId);
      const held = b && heldVersion(b, version);
      return held ? [{ b, held, wrapped: w.wrapped }] : [];
    });
    if (candidates.length === 0) return undefined;
    candidates.sort((x, y) => Number(x.b.role !== 'primary') - Number(y.b.role !== 'primary'));
    tried.any = true;
    const aad = wrapAad(headerBytes);
    try {
      const won = await hedge(candidates.length, (i) => {
        const c = candidates[i]!;
        return this.call(c.b, 'decrypt', (p) => p.decrypt({ ...c.held, spec: graph.key.spec, ciphertext: c.wrapped, aad }));
      }, { afterMs: this.failover.afterMs, fatal: isBadInput, late: (dek) => dek.fill(0) });
      failed.push(...won.passed.map((i) => candidates[i]!.b.connection));
      return { dek: won.value, servedBy: candidates[won.index]!.b.connection };
    } catch (err) {
      if (isBadInput(err)) throw new KmsError('INVALID_ARGUMENT', 'ciphertext or encryption context failed authentication', { field: 'ciphertext', cause: err });
      failed.push(...candidates.map((c) => c.b.connection));
      tried.last = err;
      return undefined;
    }
  }

  /**
   * For the repair of an envelope sealed without some bindings' wraps: its DEK, unwrapped by a binding
   * that holds it (in memory only, zeroed after), wrapped under each of `targets`. Undefined when no
   * binding of the recorded wraps can be asked any more; a failing call throws, to be retried.
   */
  async rewrap(graph: KeyGraph, version: number, headerBytes: Buffer, wraps: Wrap[], targets: BindingGraph[]): Promise<Wrap[] | undefined> {
    const tried = { any: false, last: undefined as unknown };
    const opened = await this.unwrapFirst(graph, version, headerBytes, wraps, [], tried);
    if (!opened) {
      if (tried.any) throw tried.last;
      return undefined;
    }
    const aad = wrapAad(headerBytes);
    try {
      return await Promise.all(targets.map(async (b) => ({
        bindingId: b.id,
        wrapped: await this.call(b, 'encrypt', (p) => p.encrypt({ ...versionOf(b, version), spec: graph.key.spec, plaintext: opened.dek, aad })),
      })));
    } finally {
      opened.dek.fill(0);
    }
  }

  /**
   * The backend's own ciphertext of `plaintext` (no envelope), made by the key's primary binding, for
   * callers that open it with the cloud's own API. It lives in that one backend: no replica opens it
   * and there is no failover, so decryptNative names the connection that made it.
   */
  async encryptNative(actor: Actor, ref: string, plaintext: Uint8Array, context: EncryptionContext = {}): Promise<Ciphertext & { connection: string }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'ENCRYPT');
    const { key } = graph;
    const b = primaryBinding(graph);
    const p = this.nativeCipher(graph, b, context);
    const max = specInfo[key.spec].family === 'rsa' ? oaepCapacity(key.spec, 'RSAES_OAEP_SHA_256') : p.nativeMaxPlaintext!;
    needs(plaintext.length <= max, 'INVALID_ARGUMENT', `plaintext must be at most ${max} bytes for native ciphertext under a ${key.spec} key on connection "${b.connection}" (${p.kind}); the envelope takes any size`, { field: 'plaintext' });
    actor.record.detail = { ...actor.record.detail, format: 'native' };
    const ciphertext = await this.call(b, 'encryptNative', () => p.encryptNative({ ...versionOf(b, key.currentVersion), spec: key.spec, plaintext, context }));
    return { ciphertext: Buffer.from(ciphertext), keyId: key.id, version: key.currentVersion, connection: b.connection };
  }

  /** Opens what encryptNative made: at the binding on `connection` (the primary's by default), for the key's `version`. */
  async decryptNative(actor: Actor, ref: string, ciphertext: Uint8Array, version: number, context: EncryptionContext = {}, connection?: string): Promise<{ plaintext: Buffer; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'DECRYPT', version);
    const b = connection === undefined ? primaryBinding(graph) : graph.bindings.find((x) => x.connection === connection);
    needs(b, 'INVALID_ARGUMENT', `key "${graph.key.id}" has no binding on connection "${connection}"`, { field: 'connection' });
    Object.assign(actor.record, { connection: b.connection });
    actor.record.detail = { ...actor.record.detail, format: 'native' };
    const p = this.nativeCipher(graph, b, context);
    const r = { ...versionOf(b, version), spec: graph.key.spec, ciphertext, context };
    try {
      return { plaintext: Buffer.from(await this.call(b, 'decryptNative', () => p.decryptNative(r))), keyId: graph.key.id, version };
    } catch (err) {
      if (isBadInput(err)) throw new KmsError('INVALID_ARGUMENT', 'ciphertext or encryption context failed authentication', { field: 'ciphertext', cause: err });
      throw err;
    }
  }

  /** The binding's provider, refused before any call when it has no native ciphertext or cannot bind `context`. */
  private nativeCipher(graph: KeyGraph, b: BindingGraph, context: EncryptionContext): KeyProvider & NativeCipher {
    const p = this.connections.get(b.connection).provider;
    needs(isNativeCipher(p), 'INVALID_ARGUMENT', `connection "${b.connection}" (${p.kind}) has no native ciphertext; use the envelope`, { field: 'format' });
    needs(specInfo[graph.key.spec].family !== 'rsa' || Object.keys(context).length === 0, 'INVALID_ARGUMENT',
      `native ciphertext under an RSA key (RSA-OAEP) binds no encryption context`, { field: 'context' });
    return p;
  }

  async generateDataKey(actor: Actor, ref: string, bytes: number, context?: EncryptionContext): Promise<Ciphertext & { plaintext: Buffer }> {
    needs(Number.isInteger(bytes) && bytes >= 16 && bytes <= 1024, 'INVALID_ARGUMENT', 'bytes must be a whole number from 16 to 1024', { field: 'bytes' });
    const plaintext = random(bytes);
    return { plaintext, ...(await this.encrypt(actor, ref, plaintext, context, 'GENERATE_DATA_KEY')) };
  }

  async reencrypt(actor: Actor, ciphertext: Buffer, context?: EncryptionContext, destination?: string, destinationContext?: EncryptionContext): Promise<Ciphertext & { sourceVersion: number }> {
    const opened = await this.decrypt(actor, ciphertext, context);
    const out = await this.encrypt(actor, destination ?? opened.keyId, opened.plaintext, destinationContext ?? context);
    opened.plaintext.fill(0);
    return { ...out, sourceVersion: opened.version };
  }

  async sign(actor: Actor, ref: string, algorithm: SigningAlgorithm, input: SignInput): Promise<{ signature: Uint8Array; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'SIGN');
    const version = graph.key.currentVersion;
    const signature = await this.onMaterial<Signer, Uint8Array>(actor, graph, version, 'sign', isSigner, (p, r) => p.sign({ ...r, algorithm, ...signingData(graph, algorithm, input) }));
    return { signature, keyId: graph.key.id, version };
  }

  async verify(actor: Actor, ref: string, algorithm: SigningAlgorithm, input: SignInput, signature: Uint8Array, version?: number): Promise<{ valid: boolean; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'VERIFY');
    const v = version ?? graph.key.currentVersion;
    const valid = await this.onMaterial<Signer, boolean>(actor, graph, v, 'verify', isSigner, (p, r) => p.verify({ ...r, algorithm, ...signingData(graph, algorithm, input), signature }));
    return { valid, keyId: graph.key.id, version: v };
  }

  async publicKey(actor: Actor, ref: string, format: 'pem' | 'jwk', version?: number) {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'GET_PUBLIC_KEY');
    needs(['rsa', 'ec', 'ed25519'].includes(specInfo[graph.key.spec].family), 'INVALID_ARGUMENT', `key of spec ${graph.key.spec} has no public key`, { field: 'key' });
    const v = version ?? graph.key.currentVersion;
    const der = await this.onMaterial<Signer, Uint8Array>(actor, graph, v, 'getPublicKey', isSigner, (p, r) => p.getPublicKey(r));
    const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    return { keyId: graph.key.id, version: v, publicKey: format === 'pem' ? key.export({ type: 'spki', format: 'pem' }).toString() : key.export({ format: 'jwk' }) };
  }

  async mac(actor: Actor, ref: string, message: Uint8Array): Promise<{ mac: Uint8Array; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'MAC');
    const version = graph.key.currentVersion;
    const mac = await this.onMaterial<Macer, Uint8Array>(actor, graph, version, 'mac', isMacer, (p, r) => p.mac({ ...r, message }));
    return { mac, keyId: graph.key.id, version };
  }

  async verifyMac(actor: Actor, ref: string, message: Uint8Array, mac: Uint8Array, version?: number): Promise<{ valid: boolean; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'VERIFY_MAC');
    const v = version ?? graph.key.currentVersion;
    return { valid: await this.onMaterial<Macer, boolean>(actor, graph, v, 'verifyMac', isMacer, (p, r) => p.verifyMac({ ...r, message, mac })), keyId: graph.key.id, version: v };
  }

  /** Wraps key material the caller brings; the algorithm follows the key (RFC 5649 under AES, OAEP under RSA). */
  async wrapKey(actor: Actor, ref: string, material: Uint8Array, algorithm?: WrapAlgorithm): Promise<{ wrappedKey: Uint8Array; algorithm: WrapAlgorithm; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'WRAP');
    const alg = wrapAlgorithmFor(graph.key.spec, algorithm);
    const max = alg === 'AES_KEY_WRAP_PAD' ? 4096 : oaepCapacity(graph.key.spec, alg);
    needs(material.length >= 1 && material.length <= max, 'INVALID_ARGUMENT', `key must be 1 to ${max} bytes for ${alg}`, { field: 'key' });
    const version = graph.key.currentVersion;
    const wrappedKey = await this.onMaterial<KeyWrapper, Uint8Array>(actor, graph, version, 'wrapKey', isKeyWrapper, (p, r) => p.wrapKey({ ...r, algorithm: alg, key: material }));
    return { wrappedKey, algorithm: alg, keyId: graph.key.id, version };
  }

  async unwrapKey(actor: Actor, ref: string, wrappedKey: Uint8Array, algorithm?: WrapAlgorithm, version?: number): Promise<{ key: Uint8Array; keyId: string; version: number }> {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'UNWRAP');
    const alg = wrapAlgorithmFor(graph.key.spec, algorithm);
    const v = version ?? graph.key.currentVersion;
    const key = await this.onMaterial<KeyWrapper, Uint8Array>(actor, graph, v, 'unwrapKey', isKeyWrapper, (p, r) => p.unwrapKey({ ...r, algorithm: alg, wrappedKey }));
    return { key, keyId: graph.key.id, version: v };
  }

  /**
   * Key material a caller brings (bring your own key), wrapped as the clouds take it
   * (RSA_AES_KEY_WRAP: OAEP of an ephemeral AES key, then the material under it by RFC 5649) for the
   * public key of the RSA WRAP_UNWRAP key `ref`. That key's binding opens the ephemeral key (an
   * UNWRAP the caller must be allowed); the material is unwrapped here and checked against `spec`.
   * In the clear in memory until the caller zeroes it.
   */
  async openBrought(actor: Actor, ref: string, wrapped: Uint8Array, scheme: ExportScheme, spec: KeySpec): Promise<Buffer> {
    // Decided as an unwrapKey of its own: whoever may create keys must not thereby use any wrapping key.
    // It shares the request's audit record (a refusal is the request's) but not its key: the record
    // names the key created or rotated, and the wrapping key in its detail.
    const unwrapper: Actor = { ...actor, operation: 'unwrapKey', approval: undefined };
    const { keyId, keyVersion, connection } = actor.record;
    const target = await this.cache.resolve(ref);
    actor.record.detail = { ...actor.record.detail, wrappingKey: target.key.id };
    try {
      return await this.unwrapBrought(unwrapper, this.allow(unwrapper, target, 'UNWRAP'), wrapped, scheme, spec);
    } finally {
      Object.assign(actor.record, { keyId, keyVersion, connection });
    }
  }

  private async unwrapBrought(unwrapper: Actor, graph: KeyGraph, wrapped: Uint8Array, scheme: ExportScheme, spec: KeySpec): Promise<Buffer> {
    const { family, bits } = specInfo[graph.key.spec];
    needs(family === 'rsa', 'INVALID_ARGUMENT', `wrappingKey must be an RSA key; "${graph.key.id}" is ${graph.key.spec}`, { field: 'material.wrappingKey' });
    const k = bits / 8;
    needs(wrapped.length >= k + 16, 'INVALID_ARGUMENT', `wrappedKey is too short for ${scheme} under a ${graph.key.spec} key`, { field: 'material.wrappedKey' });
    const unopened = (cause: unknown) => new KmsError('INVALID_ARGUMENT', `wrappedKey does not open under wrappingKey "${graph.key.id}" with ${scheme}`, { field: 'material.wrappedKey', cause });
    const algorithm = schemeParts(scheme).hash === 'sha1' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
    const aesKey = await this.onMaterial<KeyWrapper, Uint8Array>(unwrapper, graph, graph.key.currentVersion, 'unwrapKey', isKeyWrapper,
      (p, r) => p.unwrapKey({ ...r, algorithm, wrappedKey: wrapped.subarray(0, k) })).catch((err: unknown) => {
      throw isBadInput(err) ? unopened(err) : err;
    });
    let material: Buffer;
    try {
      material = kwpUnwrap(aesKey, wrapped.subarray(k));
    } catch (cause) {
      throw unopened(cause);
    } finally {
      aesKey.fill(0);
    }
    try {
      return checkedMaterial(spec, material);
    } catch (err) {
      material.fill(0);
      throw err;
    }
  }

  /**
   * The key's material wrapped for an importer's RSA public key (cloud import, key origination).
   * Only keys created exportable; a never-extractable key is refused here, and again by its backend.
   */
  async exportKey(actor: Actor, ref: string, scheme: ExportScheme, wrappingKeyText: string, version?: number) {
    const graph = this.allow(actor, await this.cache.resolve(ref), 'EXPORT');
    const { key } = graph;
    needs(key.extractable, 'FAILED_PRECONDITION', `key "${key.id}" is not exportable: it was not created exportable, and its material never leaves its backend`);
    const family = specInfo[key.spec].family;
    needs(scheme.startsWith('RSA_AES_KEY_WRAP') || family === 'aes' || family === 'hmac', 'INVALID_ARGUMENT',
      `${scheme} carries only symmetric keys; export a ${key.spec} key with RSA_AES_KEY_WRAP_SHA_1 or _SHA_256`, { field: 'scheme' });
    const wrappingKey = importerKey(wrappingKeyText);
    const v = version ?? key.currentVersion;
    const wrappedKey = await this.onMaterial<Exporter, Uint8Array>(actor, graph, v, 'exportKey', isExporter, (p, r) => p.exportKey({ ...r, scheme, wrappingKey }));
    return { wrappedKey, scheme, format: family === 'aes' || family === 'hmac' ? 'RAW' as const : 'PKCS8' as const, keyId: key.id, version: v };
  }

  /**
   * The decide step of every operation: access first (a refused caller learns nothing of the key's
   * usage or state), then usage, then the lifecycle table.
   */
  private allow(actor: Actor, graph: KeyGraph, op: KeyOperation, version?: number): KeyGraph {
    this.access.checkKey(actor, graph);
    const { key } = graph;
    Object.assign(actor.record, { keyVersion: version ?? key.currentVersion, connection: primaryBinding(graph).connection });
    const usage = usageOf[op];
    needs(!usage || key.usage === usage, 'INVALID_ARGUMENT', `key "${key.id}" has usage ${key.usage}; ${op} needs ${usage}`, { field: 'key' });
    const refusal = lifecycleRefusal(key, op, new Date());
    needs(!refusal, 'FAILED_PRECONDITION', refusal!);
    return graph;
  }

  private call<T>(b: BindingGraph, op: string, fn: (p: KeyProvider) => Promise<T>): Promise<T> {
    return this.connections.get(b.connection).call(op, fn);
  }

  /**
   * Calls an optional capability where the key's own material is: the primary binding first, then
   * same-material replicas, the next asked when one fails or has not answered within the failover
   * delay (as decrypt does). Refused before any call when none of their providers has the capability.
   */
  private async onMaterial<P, T>(actor: Actor, graph: KeyGraph, version: number, op: string, has: (p: KeyProvider) => p is KeyProvider & P, fn: (p: P, r: SpecRef) => Promise<T>): Promise<T> {
    const primary = primaryBinding(graph);
    const holders = graph.bindings.filter((b) => (b === primary || b.sameMaterial) && has(this.connections.get(b.connection).provider))
      .sort((x, y) => Number(y === primary) - Number(x === primary));
    const { kind } = this.connections.get(primary.connection).provider;
    needs(holders.length > 0, 'INVALID_ARGUMENT', `connection "${primary.connection}" (${kind}) cannot ${op}`);
    const won = await hedge(holders.length, async (i) => {
      const b = holders[i]!;
      const r = { ...versionOf(b, version), spec: graph.key.spec };
      return this.call(b, op, (p) => fn(p as KeyProvider & P, r));
    }, { afterMs: this.failover.afterMs, fatal: isBadInput, late: (v) => { if (v instanceof Uint8Array) v.fill(0); } });
    this.failedOver(actor, op, won.passed.map((i) => holders[i]!.connection), holders[won.index]!.connection);
    return won.value;
  }

  /** An operation served by another binding than those that failed or were slow: counted, and in the audit record. */
  private failedOver(actor: Actor, operation: string, failed: string[], servedBy: string): void {
    if (failed.length === 0) return;
    for (const from of failed) this.failover.metrics.failovers.inc({ operation, from, to: servedBy });
    actor.record.detail = { ...actor.record.detail, failoverFrom: failed.join(','), servedBy };
  }
}

type SpecRef = KeyVersionRef & { spec: KeySpec };

export type SignInput = { message: Uint8Array } | { digest: Uint8Array };

/** What the provider signs: the digest (hashing a message here), or the message itself for ED25519. */
function signingData(graph: KeyGraph, algorithm: SigningAlgorithm, input: SignInput): { digest?: Uint8Array; message?: Uint8Array } {
  needs(specInfo[graph.key.spec].signing.includes(algorithm), 'INVALID_ARGUMENT', `algorithm ${algorithm} does not fit key spec ${graph.key.spec}`, { field: 'algorithm' });
  const pinned = graph.key.signingAlgorithm;
  needs(!pinned || pinned === algorithm, 'INVALID_ARGUMENT', `key "${graph.key.id}" signs with ${pinned} only`, { field: 'algorithm' });
  const hash = signingHash(algorithm);
  if (!hash) {
    needs('message' in input, 'INVALID_ARGUMENT', `${algorithm} signs whole messages; send message, not digest`, { field: 'digest' });
    return { message: input.message };
  }
  if ('digest' in input) {
    needs(input.digest.length === hash.bytes, 'INVALID_ARGUMENT', `digest must be ${hash.bytes} bytes for ${algorithm}`, { field: 'digest' });
    return { digest: input.digest };
  }
  return { digest: createHash(hash.hash).update(input.message).digest(), message: input.message };
}

/** An importer's RSA public key, as PEM or as base64 of its DER SubjectPublicKeyInfo; returned as DER. */
function importerKey(text: string): Buffer {
  let key;
  try {
    key = text.trimStart().startsWith('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new KmsError('INVALID_ARGUMENT', 'wrappingKey is neither a PEM public key nor base64 of a DER SubjectPublicKeyInfo', { field: 'wrappingKey', cause });
  }
  needs(key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails!.modulusLength! >= 2048, 'INVALID_ARGUMENT', 'wrappingKey must be an RSA public key of at least 2048 bits', { field: 'wrappingKey' });
  return key.export({ type: 'spki', format: 'der' });
}

/** The key's wrap algorithm: AES key wrap under AES keys, RSA-OAEP (SHA-256 by default) under RSA keys. */
function wrapAlgorithmFor(spec: KeySpec, requested?: WrapAlgorithm): WrapAlgorithm {
  const aes = specInfo[spec].family === 'aes';
  const alg = requested ?? (aes ? 'AES_KEY_WRAP_PAD' : 'RSAES_OAEP_SHA_256');
  needs((alg === 'AES_KEY_WRAP_PAD') === aes, 'INVALID_ARGUMENT', `algorithm ${alg} does not fit key spec ${spec}`, { field: 'algorithm' });
  return alg;
}

/** The most bytes RSA-OAEP carries: k − 2·hLen − 2 (RFC 8017 §7.1.1). */
const oaepCapacity = (spec: KeySpec, alg: WrapAlgorithm) => specInfo[spec].bits / 8 - 2 * (alg === 'RSAES_OAEP_SHA_1' ? 20 : 32) - 2;

/** The input is at fault (tampered, wrong context or length): every other binding would say the same. */
const isBadInput = (err: unknown) => err instanceof KmsError && err.code === 'INVALID_ARGUMENT';

function versionOf(b: BindingGraph, version: number): KeyVersionRef {
  const held = heldVersion(b, version);
  needs(held, 'NOT_FOUND', `version ${version} of the key does not exist`, { field: 'version' });
  return held;
}
