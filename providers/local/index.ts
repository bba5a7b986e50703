// The `local` provider: the gateway's own software keystore and the embedded default. Material is
// generated with node:crypto, sealed under the versioned root keyring and kept through a narrow
// store port (the gateway backs it with its database; tests may back it with a Map).
import { constants, createCipheriv, createDecipheriv, createHmac, privateDecrypt, publicEncrypt, randomUUID, timingSafeEqual } from 'node:crypto';
import { kwpUnwrap, kwpWrap, oaepUnwrap, oaepWrap, schemeParts, wrapForImporter } from '../../src/crypto/keywrap.ts';
import { random } from '../../src/crypto/random.ts';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import { keySpecs, keyUsages, signingAlgorithms, type KeySpec } from '../../src/keys/specs.ts';
import type {
  Capabilities, CreateKeyRequest, CreatedKey, CreateVersionRequest, CreationFinder, DecryptRequest, EncryptRequest, Exporter, ExportRequest, Importer, ImportRequest, KeyProvider, KeyVersionRef,
  KeyVersions, KeyWrapper, Macer, NativeCipher, NativeRequest, SignRequest, Signer, WrapAlgorithm,
} from '../provider.ts';
import { importedAttributes, nativeAad } from '../provider.ts';
import { SoftwareImportKey } from '../software-import.ts';
import { checkedMaterial } from '../../src/crypto/material.ts';
import { generateMaterial, loadMaterial, type Material } from './material.ts';
import { RootKeyring } from './rootkeys.ts';
import { signDigest, verifyDigest } from './signing.ts';
import { LruCache } from '../../src/lru.ts';

/** Where sealed material lives: one row per key version. */
export interface MaterialStore {
  /** `operation`, when given, is unique: the caller's id of the creation that made the row. */
  put(row: { ref: string; version: number; sealed: Uint8Array; rootVersion: number; operation?: string }): Promise<void>;
  get(ref: string, version: number): Promise<Uint8Array | undefined>;
  /** The row a creation with `operation` made, if it was made. */
  made(operation: string): Promise<{ ref: string; version: number } | undefined>;
  latestVersion(ref: string): Promise<number>;
  deleteAll(ref: string): Promise<void>;
}

/** Grammar: `local:id=<uuid>`; version references are the decimal version number. */
const refPattern = /^local:id=([0-9a-f-]{36})$/;

export class LocalProvider implements KeyProvider, NativeCipher, Signer, Macer, KeyWrapper, Exporter, Importer, CreationFinder {
  readonly kind = 'local' as const;
  readonly capabilities: Capabilities = { specs: keySpecs, usages: keyUsages, deletion: 'gateway', rotation: 'versions', signingAlgorithms, signing: 'any' };
  /**
   * Unsealed material, for a few minutes at most: a key destroyed through another gateway
   * instance must not linger in this one's memory (its destroyKey empties only its own cache).
   */
  private readonly cache = new LruCache<string, { material: Material; expires: number }>(10_000);
  private readonly importer = new SoftwareImportKey();

  constructor(private readonly keyring: RootKeyring, private readonly store: MaterialStore, private readonly materialTtlMs = 5 * 60_000) {}

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const ref = `local:id=${randomUUID()}`;
    await this.addVersion(ref, 1, req.spec, generateMaterial(req.spec), req.operation);
    // Exportable keys may leave wrapped, never in the clear: sensitive always.
    return { ref, versionRef: '1', attributes: { extractable: req.exportable, neverExtractable: !req.exportable, sensitive: true, alwaysSensitive: true } };
  }

  async createVersion(req: Pick<CreateVersionRequest, 'ref' | 'spec' | 'operation'>): Promise<KeyVersionRef> {
    const version = await this.nextVersion(req.ref);
    await this.addVersion(req.ref, version, req.spec, generateMaterial(req.spec), req.operation);
    return { ref: req.ref, versionRef: String(version) };
  }

  async importKey(req: ImportRequest): Promise<CreatedKey> {
    const material = checkedMaterial(req.spec, await this.importer.unwrap(req));
    try {
      const ref = req.ref ?? `local:id=${randomUUID()}`;
      const version = req.ref ? await this.nextVersion(req.ref) : 1;
      await this.addVersion(ref, version, req.spec, material, req.operation);
      return { ref, versionRef: String(version), attributes: importedAttributes(req.exportable) };
    } finally {
      material.fill(0);
    }
  }

  /** A version's row is written in one statement with its operation id: it is there whole, or not at all. */
  async findCreated(req: { operation: string }): Promise<KeyVersionRef | undefined> {
    const row = await this.store.made(req.operation);
    return row && { ref: row.ref, versionRef: String(row.version) };
  }

  // The gateway keeps state and the deletion window for local keys; there is nothing to tell.
  async scheduleDeletion(): Promise<void> {}
  async cancelDeletion(): Promise<void> {}

  async destroyKey(req: KeyVersions): Promise<void> {
    parseRef(req.ref);
    await this.store.deleteAll(req.ref);
    for (const k of this.cache.keys()) if (k.startsWith(`${req.ref}#`)) this.cache.delete(k);
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    const m = await this.material(req);
    if (m.kind === 'pair') {
      return publicEncrypt({ key: m.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(req.aad) }, req.plaintext);
    }
    const iv = random(12);
    const cipher = createCipheriv('aes-256-gcm', m.bytes, iv).setAAD(req.aad);
    return Buffer.concat([iv, cipher.update(req.plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    const m = await this.material(req);
    const ct = Buffer.from(req.ciphertext);
    try {
      if (m.kind === 'pair') {
        return privateDecrypt({ key: m.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(req.aad) }, ct);
      }
      const decipher = createDecipheriv('aes-256-gcm', m.bytes, ct.subarray(0, 12)).setAAD(req.aad).setAuthTag(ct.subarray(ct.length - 16));
      return Buffer.concat([decipher.update(ct.subarray(12, ct.length - 16)), decipher.final()]);
    } catch (cause) {
      throw new InvalidCiphertext(cause);
    }
  }

  /** The keystore's own ciphertext: its envelope wraps already are, with the context's digest as the AAD. */
  readonly nativeMaxPlaintext = 65_536;

  encryptNative(req: NativeRequest & { plaintext: Uint8Array }): Promise<Uint8Array> {
    return this.encrypt({ ...req, aad: nativeAad(req.context) });
  }

  decryptNative(req: NativeRequest & { ciphertext: Uint8Array }): Promise<Uint8Array> {
    return this.decrypt({ ...req, aad: nativeAad(req.context) });
  }

  async sign(req: SignRequest): Promise<Uint8Array> {
    return signDigest(req.spec, req.algorithm, await this.pair(req), toSign(req));
  }

  async verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean> {
    return verifyDigest(req.spec, req.algorithm, await this.pair(req), toSign(req), Buffer.from(req.signature));
  }

  async getPublicKey(req: KeyVersionRef & { spec: KeySpec }): Promise<Uint8Array> {
    return (await this.pair(req)).publicKey.export({ type: 'spki', format: 'der' });
  }

  async mac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array }): Promise<Uint8Array> {
    const m = await this.material(req);
    if (m.kind !== 'secret') throw new KmsError('INVALID_ARGUMENT', `spec ${req.spec} cannot compute a MAC`);
    return createHmac(`sha${req.spec.slice(-3)}`, m.bytes).update(req.message).digest();
  }

  async verifyMac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array; mac: Uint8Array }): Promise<boolean> {
    const expected = await this.mac(req);
    return expected.length === req.mac.length && timingSafeEqual(expected, req.mac);
  }

  async wrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; key: Uint8Array }): Promise<Uint8Array> {
    const m = await this.material(req);
    return m.kind === 'secret' ? kwpWrap(m.bytes, req.key) : oaepWrap(m.publicKey, schemeParts(req.algorithm).hash, req.key);
  }

  async unwrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; wrappedKey: Uint8Array }): Promise<Uint8Array> {
    const m = await this.material(req);
    return m.kind === 'secret' ? kwpUnwrap(m.bytes, req.wrappedKey) : oaepUnwrap(m.privateKey, schemeParts(req.algorithm).hash, req.wrappedKey);
  }

  async exportKey(req: ExportRequest): Promise<Uint8Array> {
    const m = await this.material(req);
    return wrapForImporter(req.wrappingKey, req.scheme, m.kind === 'secret' ? m.bytes : m.privateKey.export({ type: 'pkcs8', format: 'der' }));
  }

  errorCode(err: unknown): ErrorCode {
    return err instanceof InvalidCiphertext ? 'INVALID_ARGUMENT' : err instanceof KmsError ? err.code : 'UNKNOWN';
  }

  private async addVersion(ref: string, version: number, spec: KeySpec, material: Buffer, operation?: string): Promise<void> {
    const sealed = this.keyring.seal(material, materialAad(ref, version));
    await this.store.put({ ref, version, sealed, rootVersion: RootKeyring.versionOf(sealed), operation });
    this.cache.set(`${ref}#${version}`, { material: loadMaterial(spec, Buffer.from(material)), expires: Date.now() + this.materialTtlMs });
  }

  private async nextVersion(ref: string): Promise<number> {
    parseRef(ref);
    return (await this.store.latestVersion(ref)) + 1;
  }

  private async material(req: KeyVersionRef & { spec: KeySpec }): Promise<Material> {
    const cacheKey = `${req.ref}#${req.versionRef}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expires > Date.now()) return hit.material;
    parseRef(req.ref);
    const version = Number(req.versionRef);
    const sealed = await this.store.get(req.ref, version);
    if (!sealed) throw new KmsError('NOT_FOUND', `no material for version ${req.versionRef} of "${req.ref}"`);
    const material = loadMaterial(req.spec, this.keyring.unseal(sealed, materialAad(req.ref, version)));
    this.cache.set(cacheKey, { material, expires: Date.now() + this.materialTtlMs });
    return material;
  }

  private async pair(req: KeyVersionRef & { spec: KeySpec }) {
    const m = await this.material(req);
    if (m.kind !== 'pair') throw new KmsError('INVALID_ARGUMENT', `spec ${req.spec} has no key pair`);
    return m;
  }
}

class InvalidCiphertext extends Error {
  constructor(cause: unknown) { super('ciphertext failed authentication', { cause }); }
}

function parseRef(ref: string): string {
  const m = refPattern.exec(ref);
  if (!m) throw new KmsError('INVALID_ARGUMENT', `"${ref}" is not a local key reference (local:id=<uuid>)`);
  return m[1]!;
}

/** The digest, or for ED25519 (which has none) the message. */
const toSign = (req: SignRequest): Buffer => Buffer.from((req.digest ?? req.message)!);

/** Sealed material is bound to its key version, so rows cannot be swapped. */
export const materialAad = (ref: string, version: number): Buffer => Buffer.from(`${ref}#${version}`);
