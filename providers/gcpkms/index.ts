// The `gcp` provider: Cloud KMS through @google-cloud/kms. A gateway key is one CryptoKey in the
// connection's key ring (named after the gateway id) and its versions are the CryptoKey's versions.
// Cloud KMS fixes a signing key's algorithm at creation, so signing keys are pinned (`per-key`).
import { constants, createPublicKey, publicEncrypt, randomUUID, type KeyObject } from 'node:crypto';
import type { protos } from '@google-cloud/kms';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import { signingHash, specInfo, type KeySpec } from '../../src/keys/specs.ts';
import { LruCache } from '../../src/lru.ts';
import type {
  Capabilities, CreateKeyRequest, CreateVersionRequest, CreatedKey, CreationFinder, DecryptRequest, DiscoveredKey, Discoverer, DiscoveryPage, DiscoveryRequest, EncryptRequest, ExportScheme, Importer, ImportRequest,
  KeyProvider, KeyVersionRef, KeyVersions, Macer, NativeCipher, NativeRequest, SignRequest, Signer, Tagger,
} from '../provider.ts';
import { describeListed, fitTags, importedAttributes, nativeAad, wrappedFor } from '../provider.ts';
import { verifyDigest } from '../local/signing.ts';
import { once, type GcpKmsPort } from './client.ts';
import { gcpErrorCode } from './errors.ts';
import { fromGcpAlgorithm, gcpSigningAlgorithms, gcpSpecs, gcpTemplate } from './specs.ts';

/** Grammar: `gcp:projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`; a version adds `/cryptoKeyVersions/<n>`. */
const refPattern = /^gcp:(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[a-zA-Z0-9_-]{1,63}\/cryptoKeys\/[a-zA-Z0-9_-]{1,63})(?:\/cryptoKeyVersions\/(\d+))?$/;

/** The label that names the gateway key a CryptoKey was made for. */
const KEY_ID_LABEL = 'kmsgw-key-id';
/** Cloud KMS's limit on labels a key, whoever set them (the gateway's own among them). */
const MAX_LABELS = 64;
/** Cloud KMS's label grammar (lowercase, digits, '_' and '-'), without the gateway's own label. */
const fitsLabel = (key: string, value: string) => /^[a-z][a-z0-9_-]{0,62}$/.test(key) && /^[a-z0-9_-]{0,63}$/.test(value) && key !== KEY_ID_LABEL;

const gcpStates: Record<string, DiscoveredKey['state']> = { ENABLED: 'ENABLED', DISABLED: 'DISABLED', DESTROY_SCHEDULED: 'PENDING_DELETION', DESTROYED: 'DESTROYED' };

export interface GcpKeyRing { project: string; location: string; keyRing: string; protectionLevel: 'SOFTWARE' | 'HSM' }

export class GcpKmsProvider implements KeyProvider, NativeCipher, Signer, Macer, Discoverer, CreationFinder, Tagger, Importer {
  readonly kind = 'gcp' as const;
  readonly capabilities: Capabilities;
  private readonly parent: string;
  /** Public keys never change for a version: fetched once each. */
  private readonly publicKeys = new LruCache<string, KeyObject>(10_000);
  private readonly importJobs = new Map<ExportScheme, { job: Promise<protos.google.cloud.kms.v1.IImportJob>; usableUntil: number }>();

  constructor(private readonly kms: GcpKmsPort, private readonly ring: GcpKeyRing, private readonly pollMs = 200) {
    this.parent = `projects/${ring.project}/locations/${ring.location}/keyRings/${ring.keyRing}`;
    this.capabilities = {
      specs: gcpSpecs(ring.protectionLevel === 'HSM'),
      usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'MAC'],
      signingAlgorithms: gcpSigningAlgorithms,
      signing: 'per-key',
      deletion: 'gateway',
      rotation: 'versions',
    };
  }

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const { purpose, algorithm } = gcpTemplate(req.spec, req.usage, req.signingAlgorithm);
    const ref = await this.emptyKey(req.keyId, purpose, algorithm);
    const { versionRef } = await this.createVersion({ ref, spec: req.spec, usage: req.usage, keyId: req.keyId, exportable: false });
    // Cloud KMS material never leaves it (imported keys aside).
    return { ref, versionRef, attributes: { extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true } };
  }

  /**
   * A new key is named after the gateway key, which has one binding per connection: what an
   * interrupted creation (or import) of it made is found by that name, as its first enabled version.
   * A version added to an existing key has no name or label of its own on Cloud KMS: it is not
   * found, and the retry adds another (an unused version, never a second key).
   */
  async findCreated(req: { ref?: string; keyId: string }): Promise<KeyVersionRef | undefined> {
    if (req.ref !== undefined) return undefined;
    const name = this.keyName(req.keyId);
    const listed = await this.kms.listCryptoKeyVersions({ parent: name }, once).then(([versions]) => versions, (err: unknown) => {
      if (gcpErrorCode(err) === 'NOT_FOUND') return [];
      throw err;
    });
    const first = listed.filter((v) => v.state === 'ENABLED').sort((a, b) => versionNumber(a.name!) - versionNumber(b.name!))[0];
    return first ? { ref: `gcp:${name}`, versionRef: `gcp:${first.name!}` } : undefined;
  }

  /** The CryptoKey of a gateway key in the connection's key ring: named after it. */
  private keyName(keyId: string): string {
    return `${this.parent}/cryptoKeys/${keyId}`;
  }

  /** A CryptoKey for a gateway key, without a version yet, labelled with the gateway id. */
  private newKey(keyId: string, purpose: ReturnType<typeof gcpTemplate>['purpose'], algorithm: ReturnType<typeof gcpTemplate>['algorithm']) {
    return {
      parent: this.parent,
      cryptoKeyId: keyId,
      skipInitialVersionCreation: true,
      cryptoKey: { purpose, versionTemplate: { algorithm, protectionLevel: this.ring.protectionLevel }, labels: { [KEY_ID_LABEL]: keyId } },
    };
  }

  /**
   * The CryptoKey a creation or an import starts: new, or the one an earlier interrupted creation or
   * failed import of the same gateway key left without material (no versions, or only versions that
   * failed to import), made for this key by its label.
   */
  private async emptyKey(keyId: string, purpose: ReturnType<typeof gcpTemplate>['purpose'], algorithm: ReturnType<typeof gcpTemplate>['algorithm']): Promise<string> {
    try {
      return `gcp:${(await this.kms.createCryptoKey(this.newKey(keyId, purpose, algorithm), once))[0].name!}`;
    } catch (err) {
      if (gcpErrorCode(err) !== 'ALREADY_EXISTS') throw err;
      const name = this.keyName(keyId);
      const [[key], [versions]] = await Promise.all([this.kms.getCryptoKey({ name }, once), this.kms.listCryptoKeyVersions({ parent: name }, once)]);
      if (key.labels?.[KEY_ID_LABEL] !== keyId || versions.some((v) => v.state !== 'IMPORT_FAILED')) throw err;
      return `gcp:${name}`;
    }
  }

  /**
   * An ACTIVE import job for `scheme`, kept for the imports that follow: a job serves any number of
   * imports until it expires (three days), and making its key pair takes Cloud KMS a while.
   */
  private importJob(scheme: ExportScheme): Promise<protos.google.cloud.kms.v1.IImportJob> {
    const kept = this.importJobs.get(scheme);
    if (kept && kept.usableUntil > Date.now()) return kept.job;
    const job = (async () => {
      const [made] = await this.kms.createImportJob({
        parent: this.parent,
        importJobId: `kmsgw-${randomUUID()}`,
        importJob: { importMethod: scheme === 'RSA_AES_KEY_WRAP_SHA_256' ? 'RSA_OAEP_3072_SHA256_AES_256' : 'RSA_OAEP_3072_SHA1_AES_256', protectionLevel: this.ring.protectionLevel },
      }, once);
      const active = await this.settled(made, 'PENDING_GENERATION', async () => (await this.kms.getImportJob({ name: made.name! }, once))[0]);
      if (active.state !== 'ACTIVE' || !active.publicKey?.pem) throw new KmsError('UNAVAILABLE', `Cloud KMS left the import job in state ${String(active.state)}`);
      return active;
    })();
    // An hour's margin before the job's expiry; a job that failed is not kept.
    const entry = { job, usableUntil: Infinity };
    this.importJobs.set(scheme, entry);
    job.then((j) => { entry.usableUntil = (timestamp(j.expireTime)?.getTime() ?? Date.now() + 86_400_000) - 3_600_000; }, () => { if (this.importJobs.get(scheme) === entry) this.importJobs.delete(scheme); });
    return job;
  }

  /** `first`, read again through `get` while Cloud KMS keeps it in state `pending`. */
  private async settled<T extends { state?: unknown }>(first: T, pending: string, get: () => Promise<T>): Promise<T> {
    let current = first;
    while (current.state === pending) {
      await new Promise((r) => setTimeout(r, this.pollMs));
      current = await get();
    }
    return current;
  }

  /** A new CryptoKeyVersion, once Cloud KMS has generated it (asymmetric keys take a moment: PENDING_GENERATION). */
  async createVersion(req: CreateVersionRequest): Promise<KeyVersionRef> {
    const [made] = await this.kms.createCryptoKeyVersion({ parent: parse(req.ref).key, cryptoKeyVersion: {} }, once);
    const version = await this.settled(made, 'PENDING_GENERATION', async () => (await this.kms.getCryptoKeyVersion({ name: made.name! }, once))[0]);
    if (version.state !== 'ENABLED') throw new KmsError('UNAVAILABLE', `Cloud KMS left the new version in state ${String(version.state)}`);
    return { ref: req.ref, versionRef: `gcp:${version.name!}` };
  }

  /**
   * Cloud KMS's import: an import job (its wrapping key is made for it, so it is awaited; a job
   * expires by itself after three days), the material wrapped for it with RSA-AES key wrap (SHA-256,
   * else a job for SHA-1), then an imported version of the CryptoKey, awaited while Cloud KMS takes
   * it in. A new CryptoKey is made as createKey makes one, without a version; Cloud KMS never
   * deletes CryptoKeys, so one whose first import failed stays without material (nothing billed)
   * and a retry takes it up again.
   */
  async importKey(req: ImportRequest): Promise<CreatedKey> {
    const { purpose, algorithm } = gcpTemplate(req.spec, req.usage, req.signingAlgorithm);
    let job = '';
    const { target, wrapped } = await wrappedFor(req, async (scheme) => {
      const active = await this.importJob(scheme);
      job = active.name!;
      return { scheme, wrappingKey: createPublicKey(active.publicKey!.pem!).export({ type: 'spki', format: 'der' }) };
    });
    const ref = req.ref ?? await this.emptyKey(req.keyId, purpose, algorithm);
    const [made] = await this.kms.importCryptoKeyVersion({ parent: parse(ref).key, algorithm, importJob: job, wrappedKey: wrapped }, once).catch((err: unknown) => {
      // The job may have expired or gone: the next import makes another.
      this.importJobs.delete(target.scheme);
      throw err;
    });
    const version = await this.settled(made, 'PENDING_IMPORT', async () => (await this.kms.getCryptoKeyVersion({ name: made.name! }, once))[0]);
    if (version.state !== 'ENABLED') {
      throw new KmsError(version.state === 'IMPORT_FAILED' ? 'INVALID_ARGUMENT' : 'UNAVAILABLE', `Cloud KMS did not take the material in (${String(version.state)}: ${version.importFailureReason ?? 'no reason given'})`);
    }
    // Cloud KMS never exports it.
    return { ref, versionRef: `gcp:${version.name!}`, attributes: importedAttributes(false) };
  }

  /**
   * Labels on the CryptoKey (Cloud KMS labels keys, not versions). Read, changed and written back
   * whole: labels set by others stay, those the gateway wrote before and no longer has go.
   */
  async setTags(req: KeyVersions & { tags: Record<string, string>; previous: Record<string, string> }): Promise<Record<string, string>> {
    const name = parse(req.ref).key;
    const [key] = await this.kms.getCryptoKey({ name }, once);
    const kept = Object.fromEntries(Object.entries(key.labels ?? {}).filter(([k]) => !(k in req.previous)));
    const written = fitTags(Object.entries(req.tags).filter(([k, v]) => fitsLabel(k, v)), kept, MAX_LABELS);
    await this.kms.updateCryptoKey({ cryptoKey: { name, labels: { ...kept, ...written } }, updateMask: { paths: ['labels'] } }, once);
    return written;
  }

  // The gateway keeps the window; Cloud KMS adds its own destroy-scheduled duration after it.
  async scheduleDeletion(): Promise<void> {}
  async cancelDeletion(): Promise<void> {}

  /** Schedules every version's destruction (Cloud KMS keeps CryptoKeys forever; versions are what is destroyed). */
  async destroyKey(req: KeyVersions): Promise<void> {
    for (const v of req.versionRefs) {
      try {
        await this.kms.destroyCryptoKeyVersion({ name: parse(v).version! }, once);
      } catch (err) {
        if (gcpErrorCode(err) !== 'FAILED_PRECONDITION') throw err; // already scheduled or destroyed
      }
    }
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    const { version } = parse(req.versionRef);
    if (specInfo[req.spec].family === 'rsa') {
      // Cloud KMS has no encrypt for asymmetric keys: OAEP under the version's public key, here.
      return publicEncrypt({ key: await this.publicKey(req.versionRef), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, req.plaintext);
    }
    const [out] = await this.kms.encrypt({ name: version!, plaintext: req.plaintext, additionalAuthenticatedData: req.aad }, once);
    return bytes(out.ciphertext);
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    const { key, version } = parse(req.versionRef);
    if (specInfo[req.spec].family === 'rsa') {
      return bytes((await this.kms.asymmetricDecrypt({ name: version!, ciphertext: req.ciphertext }, once))[0].plaintext);
    }
    return bytes((await this.kms.decrypt({ name: key, ciphertext: req.ciphertext, additionalAuthenticatedData: req.aad }, once))[0].plaintext);
  }

  /** Cloud KMS's own ciphertext: its envelope wraps already are, with the context's digest as the AAD. */
  readonly nativeMaxPlaintext = 65_536;

  encryptNative(req: NativeRequest & { plaintext: Uint8Array }): Promise<Uint8Array> {
    return this.encrypt({ ...req, aad: nativeAad(req.context) });
  }

  decryptNative(req: NativeRequest & { ciphertext: Uint8Array }): Promise<Uint8Array> {
    return this.decrypt({ ...req, aad: nativeAad(req.context) });
  }

  async sign(req: SignRequest): Promise<Uint8Array> {
    const input = req.algorithm === 'ED25519' ? { data: req.message } : { digest: { [signingHash(req.algorithm)!.hash]: req.digest } };
    return bytes((await this.kms.asymmetricSign({ name: parse(req.versionRef).version!, ...input }, once))[0].signature);
  }

  /** Cloud KMS has no verify: signatures are checked here against the version's public key. */
  async verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean> {
    const publicKey = await this.publicKey(req.versionRef);
    return verifyDigest(req.spec, req.algorithm, { publicKey }, Buffer.from((req.digest ?? req.message)!), Buffer.from(req.signature));
  }

  async getPublicKey(req: KeyVersionRef): Promise<Uint8Array> {
    return (await this.publicKey(req.versionRef)).export({ type: 'spki', format: 'der' });
  }

  async mac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array }): Promise<Uint8Array> {
    return bytes((await this.kms.macSign({ name: parse(req.versionRef).version!, data: req.message }, once))[0].mac);
  }

  async verifyMac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array; mac: Uint8Array }): Promise<boolean> {
    return (await this.kms.macVerify({ name: parse(req.versionRef).version!, data: req.message, mac: req.mac }, once))[0].success === true;
  }

  /** The CryptoKeys of the connection's key ring, a page at Cloud KMS's own page token. */
  async discoverKeys(req: DiscoveryRequest): Promise<DiscoveryPage> {
    const [keys, next] = await this.kms.listCryptoKeys({ parent: this.parent, pageSize: req.pageSize, pageToken: req.cursor }, { ...once, autoPaginate: false });
    const found = await describeListed(keys, (k) => `gcp:${k.name!}`, (k) => this.describeKey(k, req.pace), gcpErrorCode);
    return { keys: found, next: next?.pageToken || undefined };
  }

  /**
   * A CryptoKey as the inventory sees it, through its newest version: the one in use, since the
   * gateway adds versions in order (and Cloud KMS's own rotation does too). Automatic rotation exists
   * for symmetric keys only.
   */
  private async describeKey(key: protos.google.cloud.kms.v1.ICryptoKey, pace: () => Promise<void>): Promise<DiscoveredKey> {
    await pace();
    const [versions] = await this.kms.listCryptoKeyVersions({ parent: key.name! }, once);
    const newest = versions.reduce<typeof versions[number] | undefined>((a, v) => (!a || versionNumber(v.name!) > versionNumber(a.name!) ? v : a), undefined);
    const algorithm = String(newest?.algorithm ?? key.versionTemplate?.algorithm ?? 'UNSPECIFIED');
    const { [KEY_ID_LABEL]: gatewayKeyId, ...tags } = key.labels ?? {};
    const periodSeconds = Number(key.rotationPeriod?.seconds ?? 0);
    return {
      ref: `gcp:${key.name!}`, versionRef: `gcp:${newest?.name ?? key.name!}`, ...fromGcpAlgorithm(algorithm), nativeSpec: `${String(key.purpose)}/${algorithm}`,
      state: gcpStates[String(newest?.state)] ?? 'OTHER', tags, createdAt: timestamp(key.createTime), gatewayKeyId,
      rotation: String(key.purpose) === 'ENCRYPT_DECRYPT' ? { enabled: periodSeconds > 0, periodDays: periodSeconds > 0 ? Math.round(periodSeconds / 86_400) : undefined } : undefined,
    };
  }

  errorCode(err: unknown): ErrorCode {
    return err instanceof KmsError ? err.code : gcpErrorCode(err);
  }

  private async publicKey(versionRef: string): Promise<KeyObject> {
    let key = this.publicKeys.get(versionRef);
    if (!key) {
      const [out] = await this.kms.getPublicKey({ name: parse(versionRef).version! }, once);
      key = createPublicKey(out.pem!);
      this.publicKeys.set(versionRef, key);
    }
    return key;
  }
}

/** Cloud KMS bytes arrive as Uint8Array, or as base64 strings from some transports. */
function bytes(value: Uint8Array | string | null | undefined): Uint8Array {
  if (value === null || value === undefined || value.length === 0) throw new Error('Cloud KMS answered without a result');
  return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

const versionNumber = (name: string) => Number(name.slice(name.lastIndexOf('/') + 1));

function timestamp(t: protos.google.protobuf.ITimestamp | null | undefined): Date | undefined {
  return t?.seconds == null ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

function parse(ref: string): { key: string; version?: string } {
  const m = refPattern.exec(ref);
  if (!m) throw new KmsError('INVALID_ARGUMENT', `"${ref}" is not a Cloud KMS key reference (gcp:projects/…/cryptoKeys/<key>[/cryptoKeyVersions/<n>])`);
  return { key: m[1]!, version: m[2] ? `${m[1]}/cryptoKeyVersions/${m[2]}` : undefined };
}

