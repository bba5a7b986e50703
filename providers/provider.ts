// The driver interface every backend implements (STYLE rule 2). It knows nothing of HTTP, policy
// or the database; the core (src/routing/connection.ts) adds deadlines, error wrapping and metrics.
import pMap from 'p-map';
import { KmsError, type ErrorCode } from '../src/errors.ts';
import { contextDigest } from '../src/crypto/envelope.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../src/keys/specs.ts';

export const providerKinds = ['local', 'aws', 'azure', 'gcp', 'pkcs11'] as const;
export type ProviderKind = (typeof providerKinds)[number];

/** KMIP exportability attributes, read back from the backend rather than assumed. */
export interface MaterialAttributes {
  extractable: boolean;
  neverExtractable: boolean;
  sensitive: boolean;
  alwaysSensitive: boolean;
}

export interface Capabilities {
  specs: readonly KeySpec[];
  usages: readonly KeyUsage[];
  /** `gateway`: the gateway keeps the waiting period and calls destroyKey; `provider`: the backend runs its own. */
  deletion: 'gateway' | 'provider';
  /** `versions`: one native key with versions; `new-key`: each gateway version is a new native key. */
  rotation: 'versions' | 'new-key';
  /** The signing algorithms the backend has (each key uses those of its spec). */
  signingAlgorithms: readonly SigningAlgorithm[];
  /** `any`: a signing key signs with every algorithm of its spec; `per-key`: the backend fixes one at creation. */
  signing: 'any' | 'per-key';
}

export interface KeyVersions { ref: string; versionRefs: string[] }

/** A key at the backend, written as a URI whose scheme is the provider kind (STYLE rule 5). */
export interface KeyVersionRef { ref: string; versionRef: string }

export interface CreateKeyRequest {
  spec: KeySpec;
  usage: KeyUsage;
  exportable: boolean;
  /** The gateway key id; backends that keep labels record it so discovery can match keys back. */
  keyId: string;
  /** For SIGN_VERIFY keys on `per-key` backends: the algorithm the key is made for. */
  signingAlgorithm?: SigningAlgorithm;
  /** As for CreateVersionRequest: the caller's id of this creation, for a CreationFinder backend to label what it makes with. */
  operation?: string;
}
export interface CreatedKey extends KeyVersionRef { attributes: MaterialAttributes }

export interface CreateVersionRequest {
  ref: string; spec: KeySpec; usage: KeyUsage; keyId: string; exportable: boolean; signingAlgorithm?: SigningAlgorithm;
  /** An id of this creation, recorded by the caller before asking: a CreationFinder backend labels what it makes with it. */
  operation?: string;
  /** The gateway tags the binding's backend key carries, for a Tagger that tags each version (AWS's key per version, Key Vault's versions). */
  tags?: Record<string, string>;
}

export interface EncryptRequest extends KeyVersionRef { spec: KeySpec; plaintext: Uint8Array; aad: Uint8Array }
export interface DecryptRequest extends KeyVersionRef { spec: KeySpec; ciphertext: Uint8Array; aad: Uint8Array }

export interface KeyProvider {
  readonly kind: ProviderKind;
  readonly capabilities: Capabilities;
  createKey(req: CreateKeyRequest): Promise<CreatedKey>;
  /** Adds a version for rotation and returns its reference. */
  createVersion(req: CreateVersionRequest): Promise<KeyVersionRef>;
  /**
   * `versionRefs` name every version, for backends whose rotation makes a native key per version.
   * The three deletion calls are idempotent: the sync job repeats one whose outcome it did not record.
   */
  scheduleDeletion(req: KeyVersions & { pendingDays: number }): Promise<void>;
  cancelDeletion(req: KeyVersions): Promise<void>;
  /** Destroys the material of every version; metadata stays with the gateway. */
  destroyKey(req: KeyVersions): Promise<void>;
  /** Encrypts a small secret (a DEK) under the key version, binding `aad`. */
  encrypt(req: EncryptRequest): Promise<Uint8Array>;
  decrypt(req: DecryptRequest): Promise<Uint8Array>;
  /** Maps a raw error this adapter threw onto the taxonomy; UNKNOWN when the table has no row. */
  errorCode(err: unknown): ErrorCode;
  /** Seconds the backend asked to wait before a retry (Retry-After), when its error says. */
  retryAfter?(err: unknown): number | undefined;
  close?(): Promise<void>;
}

export interface SignRequest extends KeyVersionRef {
  spec: KeySpec;
  algorithm: SigningAlgorithm;
  /** The digest under the algorithm's hash, computed once by the core; absent only for ED25519. */
  digest?: Uint8Array;
  /** The message, when the caller sent one: a backend that signs messages natively may prefer it. */
  message?: Uint8Array;
}

/** Optional capability: asymmetric signing and public keys. */
export interface Signer {
  sign(req: SignRequest): Promise<Uint8Array>;
  verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean>;
  /** The public key as DER SubjectPublicKeyInfo. */
  getPublicKey(req: KeyVersionRef & { spec: KeySpec }): Promise<Uint8Array>;
}

/** Optional capability: HMAC. */
export interface Macer {
  mac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array }): Promise<Uint8Array>;
  verifyMac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array; mac: Uint8Array }): Promise<boolean>;
}

export const isSigner = (p: KeyProvider): p is KeyProvider & Signer => typeof (p as Partial<Signer>).sign === 'function';
export const isNativeCipher = (p: KeyProvider): p is KeyProvider & NativeCipher => typeof (p as Partial<NativeCipher>).encryptNative === 'function';
export const isMacer = (p: KeyProvider): p is KeyProvider & Macer => typeof (p as Partial<Macer>).mac === 'function';

/** A caller's request for the backend's own ciphertext: its encryption context is bound the backend's own way. */
export interface NativeRequest extends KeyVersionRef { spec: KeySpec; context: Record<string, string> }

/**
 * Optional capability: the backend's own ciphertext of the caller's data, which the caller can open
 * with the backend's own API (an AWS `Decrypt`, a Cloud KMS `decrypt`) when the gateway is not there.
 * The context becomes AWS's EncryptionContext, elsewhere AAD (its digest, `nativeAad`); under RSA
 * keys (OAEP with SHA-256) the core lets no context through, as no cloud binds one there.
 */
export interface NativeCipher {
  /** The most plaintext one encrypt under a symmetric key takes; absent where only RSA keys encrypt. */
  readonly nativeMaxPlaintext?: number;
  encryptNative(req: NativeRequest & { plaintext: Uint8Array }): Promise<Uint8Array>;
  decryptNative(req: NativeRequest & { ciphertext: Uint8Array }): Promise<Uint8Array>;
}

/** The AAD a context becomes where the backend binds bytes: the envelope's context digest, nothing for none. */
export const nativeAad = (context: Record<string, string>): Uint8Array => (Object.keys(context).length === 0 ? new Uint8Array(0) : contextDigest(context));

/** Wrapping of keys the caller holds: AES key wrap with padding (RFC 5649) under AES keys, RSA-OAEP under RSA keys. */
export const wrapAlgorithms = ['AES_KEY_WRAP_PAD', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
export type WrapAlgorithm = (typeof wrapAlgorithms)[number];

/** Optional capability: wrap and unwrap key material the caller brings. */
export interface KeyWrapper {
  wrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; key: Uint8Array }): Promise<Uint8Array>;
  unwrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; wrappedKey: Uint8Array }): Promise<Uint8Array>;
}

/**
 * The clouds' import schemes, named as AWS names them (WrappingAlgorithmSpec). GCP's import methods
 * RSA_OAEP_{3072,4096}_SHA{1,256}_AES_256 are the RSA_AES ones, Azure's BYOK is RSA_AES_KEY_WRAP_SHA_1.
 */
export const exportSchemes = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const;
export type ExportScheme = (typeof exportSchemes)[number];

export interface ExportRequest extends KeyVersionRef {
  spec: KeySpec;
  scheme: ExportScheme;
  /** The importer's RSA public key (DER SubjectPublicKeyInfo). */
  wrappingKey: Uint8Array;
}

/**
 * Optional capability: exportable material leaves only wrapped under an importer's public key, as
 * the raw key (AES, HMAC) or PKCS#8 (key pairs), the forms the clouds import.
 */
export interface Exporter {
  exportKey(req: ExportRequest): Promise<Uint8Array>;
}

/** What an importer wants material wrapped for: one of its schemes and its RSA public key (DER SubjectPublicKeyInfo). */
export interface ImportTarget { scheme: ExportScheme; wrappingKey: Uint8Array }

export interface ImportRequest {
  spec: KeySpec;
  usage: KeyUsage;
  exportable: boolean;
  keyId: string;
  /** The algorithm a signing key is pinned to, for backends that fix it per key (Cloud KMS). */
  signingAlgorithm?: SigningAlgorithm;
  /**
   * The material as an Exporter gives it (raw key, or PKCS#8 for key pairs), wrapped for the
   * importer's target by whoever holds it: a backend's export, a backup's restore. Rejects with
   * UNIMPLEMENTED a scheme the holder cannot wrap with; the importer then offers its next.
   */
  wrap(target: ImportTarget): Promise<Uint8Array>;
  /** The key to add the material to as its next version; a new key when absent. */
  ref?: string;
  /** A key pair's public half (DER SubjectPublicKeyInfo), for backends that keep it as an object of its own (PKCS#11). */
  publicKey?: Uint8Array;
  /** As for CreateVersionRequest: the caller's id of this import, for a CreationFinder backend to label what it makes with. */
  operation?: string;
  /** As for CreateVersionRequest: the gateway tags of the binding, for a Tagger that tags each version. */
  tags?: Record<string, string>;
}

/**
 * Optional capability: key material made elsewhere comes in through the backend's own import scheme
 * (the Exporter's counterpart). One call holds the whole import, as the clouds need: AWS makes the
 * key before it names a wrapping key, Cloud KMS makes an import job; an import that fails leaves
 * nothing behind that the backend lets it remove.
 */
export interface Importer {
  importKey(req: ImportRequest): Promise<CreatedKey>;
}

/** Imported material: it was in the clear elsewhere, so never "never extractable" nor "always sensitive". */
export const importedAttributes = (extractable: boolean): MaterialAttributes => ({ extractable, neverExtractable: false, sensitive: true, alwaysSensitive: false });

/** The importers' schemes, best first: CKM_RSA_AES_KEY_WRAP with SHA-256 OAEP, else SHA-1 (all SoftHSM2 exports with). */
export const rsaAesSchemes = ['RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1'] as const satisfies readonly ExportScheme[];

/**
 * The material wrapped for the first of an importer's `schemes` (best first) its holder can wrap
 * with: `target` makes the importer's target for a scheme.
 */
export async function wrappedFor(req: ImportRequest, target: (scheme: ExportScheme) => Promise<ImportTarget>, schemes: readonly ExportScheme[] = rsaAesSchemes): Promise<{ target: ImportTarget; wrapped: Uint8Array }> {
  for (const [i, scheme] of schemes.entries()) {
    const t = await target(scheme);
    try {
      return { target: t, wrapped: await req.wrap(t) };
    } catch (err) {
      if (!(err instanceof KmsError && err.code === 'UNIMPLEMENTED') || i === schemes.length - 1) throw err;
    }
  }
  throw new KmsError('UNIMPLEMENTED', 'the importer offers no scheme');
}

/**
 * Optional capability: what a createKey, createVersion or importKey with `operation` made, found
 * again at the backend. For a caller that died between the backend's answer and recording it, so
 * that a retry adopts what was made instead of making a second one (on AWS, a second key).
 */
export interface CreationFinder {
  /** `ref` is absent when the creation was of a new key (a replica's first). */
  findCreated(req: { ref?: string; keyId: string; operation: string }): Promise<KeyVersionRef | undefined>;
}

/**
 * Optional capability: the gateway's tags on the backend key (on every version's key, for `new-key`
 * backends), so that the cloud's own console, billing and policies see them. Only tags the gateway
 * wrote are ever removed (`previous`): tags set at the backend by others stay. Idempotent. Answers
 * the tags written: a tag the backend's grammar refuses is left out rather than failing the rest.
 */
export interface Tagger {
  setTags(req: KeyVersions & { tags: Record<string, string>; previous: Record<string, string> }): Promise<Record<string, string>>;
}

/**
 * The gateway's tags a backend key can take beside the tags it keeps (`kept`: set by others, and the
 * gateway's own bookkeeping ones), within the backend's limit of `max` a key: in name order, so the
 * same ones each time. A tag already there is overwritten without taking room. `tags`: those the
 * backend's grammar takes.
 */
export function fitTags(tags: [string, string][], kept: Record<string, string>, max: number): Record<string, string> {
  const names = new Set(Object.keys(kept));
  const written: [string, string][] = [];
  for (const [k, v] of [...tags].sort(([a], [b]) => a.localeCompare(b))) {
    if (!names.has(k) && names.size >= max) continue;
    names.add(k);
    written.push([k, v]);
  }
  return Object.fromEntries(written);
}

/** The provider as the capability `has` tests for, for callers that chose the connection for it; UNIMPLEMENTED naming `op` otherwise. */
export function withCapability<P>(p: KeyProvider, has: (p: KeyProvider) => p is KeyProvider & P, op: string): KeyProvider & P {
  if (!has(p)) throw new KmsError('UNIMPLEMENTED', `a ${p.kind} connection cannot ${op}`);
  return p;
}

export const isCreationFinder = (p: KeyProvider): p is KeyProvider & CreationFinder => typeof (p as Partial<CreationFinder>).findCreated === 'function';
export const isTagger = (p: KeyProvider): p is KeyProvider & Tagger => typeof (p as Partial<Tagger>).setTags === 'function';
export const isKeyWrapper = (p: KeyProvider): p is KeyProvider & KeyWrapper => typeof (p as Partial<KeyWrapper>).wrapKey === 'function';
export const isExporter = (p: KeyProvider): p is KeyProvider & Exporter => typeof (p as Partial<Exporter>).exportKey === 'function';
export const isImporter = (p: KeyProvider): p is KeyProvider & Importer => typeof (p as Partial<Importer>).importKey === 'function';

/** A key as discovery finds it at the backend, whoever made it. */
export interface DiscoveredKey {
  /** The key's reference, as bindings hold it. */
  ref: string;
  /** Its version in use; for backends without versions, the ref itself. */
  versionRef: string;
  /** Normalized spec and usage; none when the backend's kind has no gateway equivalent. */
  spec?: KeySpec;
  usage?: KeyUsage;
  /** What the backend calls its spec, for the inventory when there is no normalized one. */
  nativeSpec: string;
  state: 'ENABLED' | 'DISABLED' | 'PENDING_DELETION' | 'DESTROYED' | 'OTHER';
  tags: Record<string, string>;
  createdAt?: Date;
  /** The backend's own automatic rotation, where it has one. */
  rotation?: { enabled: boolean; periodDays?: number };
  /** The gateway key this backend key was made for (by its label or tag), if any. */
  gatewayKeyId?: string;
  /** Why the credentials may list this key but not read it; nothing else about it is known then. */
  unreadable?: ErrorCode;
}

export interface DiscoveryPage { keys: DiscoveredKey[]; next?: string }

/**
 * Optional capability: list every key the credentials can see, a page at a time. `cursor` is the
 * backend's own page token, so a discovery resumes where it stopped.
 */
export interface Discoverer {
  discoverKeys(req: DiscoveryRequest): Promise<DiscoveryPage>;
}

/** Keys a discoverer describes at once: each is a few backend calls, every one paced by the rate limit. */
export const DESCRIBE_CONCURRENCY = 8;

/**
 * Describes listed keys, DESCRIBE_CONCURRENCY at a time. A key gone since the listing (NOT_FOUND) is
 * left out: the pass's sweep decides what is gone. A key the credentials may list but not read
 * (PERMISSION_DENIED: another team's key policy, say) is listed as unreadable: one such key must not
 * stop the inventory of all the others. Any other failure fails the page, to be retried.
 */
export async function describeListed<T>(listed: T[], refOf: (item: T) => string, describe: (item: T) => Promise<DiscoveredKey>, errorCode: (err: unknown) => ErrorCode): Promise<DiscoveredKey[]> {
  const keys = await pMap(listed, async (item): Promise<DiscoveredKey | undefined> => {
    try {
      return await describe(item);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'NOT_FOUND') return undefined;
      if (code !== 'PERMISSION_DENIED') throw err;
      const ref = refOf(item);
      return { ref, versionRef: ref, nativeSpec: 'unknown', state: 'OTHER', tags: {}, unreadable: code };
    }
  }, { concurrency: DESCRIBE_CONCURRENCY });
  return keys.filter((k) => k !== undefined);
}

export interface DiscoveryRequest {
  cursor?: string;
  pageSize: number;
  /** Waits for the connection's rate limit: awaited before each backend call after the page's first. */
  pace(): Promise<void>;
}

export const isDiscoverer = (p: KeyProvider): p is KeyProvider & Discoverer => typeof (p as Partial<Discoverer>).discoverKeys === 'function';
