// The `aws` provider: AWS KMS through @aws-sdk/client-kms. Each gateway version of a key is its own
// AWS key (AWS rotates only symmetric keys, and never on demand across specs), so version
// references are key ARNs and deletion covers every version's key.
import {
  CancelKeyDeletionCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EnableKeyCommand, EncryptCommand, GenerateMacCommand,
  GetKeyRotationStatusCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand, ListKeysCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand, SignCommand, TagResourceCommand, UntagResourceCommand,
  VerifyCommand, VerifyMacCommand,
  type KeyMetadata, type KeySpec as AwsKeySpec, type KeyUsageType, type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import pMap from 'p-map';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import { signingAlgorithms, type KeySpec, type KeyUsage } from '../../src/keys/specs.ts';
import type {
  Capabilities, CreateKeyRequest, CreatedKey, CreateVersionRequest, CreationFinder, DecryptRequest, DiscoveredKey, Discoverer, DiscoveryPage, DiscoveryRequest, EncryptRequest,
  Importer, ImportRequest, KeyProvider, KeyVersionRef, KeyVersions, Macer, NativeCipher, NativeRequest, SignRequest, Signer, Tagger,
} from '../provider.ts';
import { DESCRIBE_CONCURRENCY, describeListed, fitTags, importedAttributes, wrappedFor } from '../provider.ts';
import type { KmsPort } from './client.ts';
import { awsErrorCode } from './errors.ts';
import { awsKeySpec, awsKeyUsage, fromAwsSpec, fromAwsUsage, macAlgorithm } from './specs.ts';

/** Grammar: `aws:<key ARN>`, the ARN of a key in the connection's account and region. */
const refPattern = /^aws:(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-fA-F-]{36}|mrk-[0-9a-f]{32}))$/;

/** The key id within the connection (moto accepts only ids in some calls; AWS accepts both). */
function keyIdOf(ref: string): string {
  const m = refPattern.exec(ref);
  if (!m) throw new KmsError('INVALID_ARGUMENT', `"${ref}" is not an AWS KMS key reference (aws:<key ARN>)`);
  return m[2]!;
}

const AAD_CONTEXT_KEY = 'kmsgw:aad';
/** The tag that names the gateway key an AWS key was made for. */
const KEY_ID_TAG = 'kmsgw:key-id';
/** The tag that names the creation (CreateVersionRequest.operation) an AWS key was made by. */
const OPERATION_TAG = 'kmsgw:operation';

const awsStates: Record<string, DiscoveredKey['state']> = { Enabled: 'ENABLED', Disabled: 'DISABLED', PendingDeletion: 'PENDING_DELETION' };

export class AwsKmsProvider implements KeyProvider, NativeCipher, Signer, Macer, Discoverer, CreationFinder, Tagger, Importer {
  readonly kind = 'aws' as const;
  readonly capabilities: Capabilities = {
    specs: Object.keys(awsKeySpec) as KeySpec[],
    usages: Object.keys(awsKeyUsage) as KeyUsage[],
    deletion: 'provider',
    rotation: 'new-key',
    signingAlgorithms: signingAlgorithms.filter((a) => a !== 'ED25519'),
    signing: 'any',
  };

  constructor(private readonly kms: KmsPort) {}

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const ref = await this.newKey(req.spec, req.usage, req.keyId, { operation: req.operation });
    // Material generated in AWS never leaves it.
    return { ref, versionRef: ref, attributes: { extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true } };
  }

  async createVersion(req: CreateVersionRequest): Promise<KeyVersionRef> {
    return { ref: req.ref, versionRef: await this.newKey(req.spec, req.usage, req.keyId, { operation: req.operation, tags: req.tags }) };
  }

  /**
   * AWS's import: a key of origin EXTERNAL (a next version is a key of its own too), its import
   * parameters (RSA-AES key wrap under a 3072-bit wrapping key; AWS names the wrapping key only for
   * a key that exists), then the material, which never expires. An import that fails schedules its
   * empty key's deletion, the only removal AWS has.
   */
  async importKey(req: ImportRequest): Promise<CreatedKey> {
    const versionRef = await this.newKey(req.spec, req.usage, req.keyId, { origin: 'EXTERNAL', operation: req.operation, tags: req.tags });
    const KeyId = keyIdOf(versionRef);
    try {
      let importToken: Uint8Array | undefined;
      const { wrapped } = await wrappedFor(req, async (scheme) => {
        const params = await this.kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: scheme, WrappingKeySpec: 'RSA_3072' }));
        importToken = params.ImportToken!;
        return { scheme, wrappingKey: params.PublicKey! };
      });
      await this.kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: importToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    } catch (err) {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 })).catch(() => {});
      throw err;
    }
    // AWS never exports it.
    return { ref: req.ref ?? versionRef, versionRef, attributes: importedAttributes(false) };
  }

  /**
   * KMS cannot search by tag: this reads the tags of every key in the account and region, a call
   * per key. Only a retry after a crash asks, never the normal path. An import the crash cut short
   * left its key without material (PendingImport): it is scheduled for deletion, as a failed
   * import's key is, and not found, so that the retry imports afresh.
   */
  async findCreated(req: { keyId: string; operation: string }): Promise<KeyVersionRef | undefined> {
    for (let marker: string | undefined, first = true; first || marker; first = false) {
      const page = await this.kms.send(new ListKeysCommand({ Limit: 1000, Marker: marker }));
      const tagged = await pMap(page.Keys ?? [], async (k) => {
        // A key these credentials may not read, or one gone since the listing, is none they made.
        const tags = await this.kms.send(new ListResourceTagsCommand({ KeyId: k.KeyId! })).then((r) => r.Tags ?? [], (err: unknown) => {
          if (['PERMISSION_DENIED', 'NOT_FOUND'].includes(awsErrorCode(err))) return [];
          throw err;
        });
        const has = (key: string, value: string) => tags.some((t) => t.TagKey === key && t.TagValue === value);
        return has(OPERATION_TAG, req.operation) && has(KEY_ID_TAG, req.keyId) ? `aws:${k.KeyArn!}` : undefined;
      }, { concurrency: DESCRIBE_CONCURRENCY });
      for (const found of tagged) {
        if (found === undefined) continue;
        const state = await this.keyState(found);
        if (state === 'PendingImport') await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyIdOf(found), PendingWindowInDays: 7 }));
        else if (state !== 'PendingDeletion') return { ref: found, versionRef: found };
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    }
    return undefined;
  }

  async scheduleDeletion(req: KeyVersions & { pendingDays: number }): Promise<void> {
    for (const v of req.versionRefs) {
      // A key already waiting keeps its date (AWS refuses to schedule it again).
      if (await this.keyState(v) !== 'PendingDeletion') await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyIdOf(v), PendingWindowInDays: req.pendingDays }));
    }
  }

  async cancelDeletion(req: KeyVersions): Promise<void> {
    // AWS leaves a key Disabled after cancellation; the gateway's state decides use, so enable it.
    for (const v of req.versionRefs) {
      const state = await this.keyState(v);
      if (state === 'PendingDeletion') await this.kms.send(new CancelKeyDeletionCommand({ KeyId: keyIdOf(v) }));
      if (state !== 'Enabled') await this.kms.send(new EnableKeyCommand({ KeyId: keyIdOf(v) }));
    }
  }

  /**
   * Tags on every AWS key of the gateway key. Tags set by others stay and count against AWS's limit;
   * those the gateway wrote before and does not write now go.
   */
  async setTags(req: KeyVersions & { tags: Record<string, string>; previous: Record<string, string> }): Promise<Record<string, string>> {
    let written: Record<string, string> = {};
    for (const v of req.versionRefs) {
      // At most 50 tags a key, so one page holds them all.
      const present = (await this.kms.send(new ListResourceTagsCommand({ KeyId: keyIdOf(v), Limit: MAX_TAGS }))).Tags ?? [];
      written = awsTags(req.tags, Object.fromEntries(present.filter((t) => !(t.TagKey! in req.previous)).map((t) => [t.TagKey!, t.TagValue!])));
      const tags = Object.entries(written).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
      const removed = present.map((t) => t.TagKey!).filter((k) => k in req.previous && !(k in written));
      if (removed.length > 0) await this.kms.send(new UntagResourceCommand({ KeyId: keyIdOf(v), TagKeys: removed }));
      if (tags.length > 0) await this.kms.send(new TagResourceCommand({ KeyId: keyIdOf(v), Tags: tags }));
    }
    return written;
  }

  /** AWS never deletes at once: the shortest waiting period it allows is the closest thing. */
  async destroyKey(req: KeyVersions): Promise<void> {
    await this.scheduleDeletion({ ...req, pendingDays: 7 });
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    const out = await this.kms.send(new EncryptCommand({ KeyId: keyIdOf(req.versionRef), Plaintext: req.plaintext, ...binding(req.spec, wrapContext(req.aad)) }));
    return out.CiphertextBlob!;
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    const out = await this.kms.send(new DecryptCommand({ KeyId: keyIdOf(req.versionRef), CiphertextBlob: req.ciphertext, ...binding(req.spec, wrapContext(req.aad)) }));
    return out.Plaintext!;
  }

  /** AWS's own ciphertext blob: the caller's context is its EncryptionContext, as a direct `Encrypt` would have it. */
  readonly nativeMaxPlaintext = 4096;

  async encryptNative(req: NativeRequest & { plaintext: Uint8Array }): Promise<Uint8Array> {
    return (await this.kms.send(new EncryptCommand({ KeyId: keyIdOf(req.versionRef), Plaintext: req.plaintext, ...binding(req.spec, req.context) }))).CiphertextBlob!;
  }

  async decryptNative(req: NativeRequest & { ciphertext: Uint8Array }): Promise<Uint8Array> {
    return (await this.kms.send(new DecryptCommand({ KeyId: keyIdOf(req.versionRef), CiphertextBlob: req.ciphertext, ...binding(req.spec, req.context) }))).Plaintext!;
  }

  async sign(req: SignRequest): Promise<Uint8Array> {
    const out = await this.kms.send(new SignCommand({ KeyId: keyIdOf(req.versionRef), ...signInput(req), SigningAlgorithm: req.algorithm as SigningAlgorithmSpec }));
    return out.Signature!;
  }

  async verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean> {
    try {
      const out = await this.kms.send(new VerifyCommand({
        KeyId: keyIdOf(req.versionRef), ...signInput(req), SigningAlgorithm: req.algorithm as SigningAlgorithmSpec, Signature: req.signature,
      }));
      return out.SignatureValid === true;
    } catch (err) {
      if ((err as Error).name === 'KMSInvalidSignatureException') return false;
      throw err;
    }
  }

  async getPublicKey(req: KeyVersionRef): Promise<Uint8Array> {
    return (await this.kms.send(new GetPublicKeyCommand({ KeyId: keyIdOf(req.versionRef) }))).PublicKey!;
  }

  async mac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array }): Promise<Uint8Array> {
    return (await this.kms.send(new GenerateMacCommand({ KeyId: keyIdOf(req.versionRef), Message: req.message, MacAlgorithm: macAlgorithm(req.spec) }))).Mac!;
  }

  async verifyMac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array; mac: Uint8Array }): Promise<boolean> {
    try {
      const out = await this.kms.send(new VerifyMacCommand({ KeyId: keyIdOf(req.versionRef), Message: req.message, Mac: req.mac, MacAlgorithm: macAlgorithm(req.spec) }));
      return out.MacValid === true;
    } catch (err) {
      if ((err as Error).name === 'KMSInvalidMacException') return false;
      throw err;
    }
  }

  async discoverKeys(req: DiscoveryRequest): Promise<DiscoveryPage> {
    const page = await this.kms.send(new ListKeysCommand({ Limit: Math.min(req.pageSize, 1000), Marker: req.cursor }));
    const refs = (page.Keys ?? []).map((k) => `aws:${k.KeyArn!}`);
    const keys = await describeListed(refs, (r) => r, (r) => this.describeKey(r, req.pace), awsErrorCode);
    return { keys, next: page.Truncated ? page.NextMarker : undefined };
  }

  private async describeKey(ref: string, pace: () => Promise<void>): Promise<DiscoveredKey> {
    const id = keyIdOf(ref);
    await pace();
    const meta = (await this.kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!;
    await pace();
    const tags = Object.fromEntries(((await this.kms.send(new ListResourceTagsCommand({ KeyId: id }))).Tags ?? []).map((t) => [t.TagKey!, t.TagValue!]));
    const gatewayKeyId = tags[KEY_ID_TAG];
    // The gateway's own tags are bookkeeping, not the key's tags.
    const rest = Object.fromEntries(Object.entries(tags).filter(([k]) => k !== KEY_ID_TAG && k !== OPERATION_TAG));
    // CreateKey's default usage, for a description that leaves it out (moto does, for a key made without one).
    const usage = meta.KeyUsage ?? 'ENCRYPT_DECRYPT';
    return {
      ref, versionRef: ref, spec: fromAwsSpec(meta.KeySpec), usage: fromAwsUsage(usage), nativeSpec: `${meta.KeySpec}/${usage}`,
      state: meta.KeyState === 'Unavailable' && meta.DeletionDate ? 'DESTROYED' : awsStates[meta.KeyState ?? ''] ?? 'OTHER',
      tags: rest, createdAt: meta.CreationDate, rotation: await this.rotationOf(meta, pace), gatewayKeyId,
    };
  }

  /** AWS rotates only symmetric customer keys of its own material. */
  private async rotationOf(meta: KeyMetadata, pace: () => Promise<void>): Promise<DiscoveredKey['rotation']> {
    if (meta.KeySpec !== 'SYMMETRIC_DEFAULT' || meta.Origin !== 'AWS_KMS' || meta.KeyManager !== 'CUSTOMER' || meta.KeyState !== 'Enabled') return undefined;
    await pace();
    const status = await this.kms.send(new GetKeyRotationStatusCommand({ KeyId: meta.KeyId! }));
    return { enabled: status.KeyRotationEnabled ?? false, periodDays: status.RotationPeriodInDays };
  }

  errorCode(err: unknown): ErrorCode {
    return awsErrorCode(err);
  }

  private async keyState(versionRef: string): Promise<string | undefined> {
    return (await this.kms.send(new DescribeKeyCommand({ KeyId: keyIdOf(versionRef) }))).KeyMetadata!.KeyState;
  }

  private async newKey(spec: KeySpec, usage: KeyUsage, keyId: string, { operation, tags = {}, origin }: { operation?: string; tags?: Record<string, string>; origin?: 'EXTERNAL' } = {}): Promise<string> {
    const own = { [KEY_ID_TAG]: keyId, ...(operation && { [OPERATION_TAG]: operation }) };
    const out = await this.kms.send(new CreateKeyCommand({
      KeySpec: awsKeySpec[spec] as AwsKeySpec,
      KeyUsage: awsKeyUsage[usage] as KeyUsageType,
      Origin: origin,
      Description: `kms-gateway ${keyId}`,
      // Discovery finds the gateway's keys again by this tag, a retried creation by the other.
      Tags: Object.entries({ ...own, ...awsTags(tags, own) }).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    }));
    return `aws:${out.KeyMetadata!.Arn!}`;
  }
}

/**
 * Whether AWS takes a gateway tag: its character set and lengths, and neither AWS's reserved `aws:`
 * prefix nor the gateway's own bookkeeping tags. A tag AWS would refuse is left out rather than
 * failing every other tag's write.
 */
const writableTag = (key: string, value: string) => /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key) && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(value)
  && !key.startsWith('aws:') && !key.startsWith('kmsgw:');

/** AWS's limit on tags a key, whoever set them (the gateway's bookkeeping tags included). */
const MAX_TAGS = 50;

/** The gateway tags AWS takes beside those the key keeps. */
const awsTags = (tags: Record<string, string>, kept: Record<string, string>) => fitTags(Object.entries(tags).filter(([k, v]) => writableTag(k, v)), kept, MAX_TAGS);

/** The message itself while it fits KMS's 4 KiB RAW limit, the core's digest otherwise. */
function signInput(req: SignRequest): { Message: Uint8Array; MessageType: 'RAW' | 'DIGEST' } {
  return req.message && req.message.length <= 4096 ? { Message: req.message, MessageType: 'RAW' } : { Message: req.digest!, MessageType: 'DIGEST' };
}

/**
 * How an Encrypt or Decrypt under a key of `spec` binds `context`: symmetric keys as the encryption
 * context (none when empty). AWS's RSA encryption takes no context (the core lets none through for
 * native ciphertext), so an envelope's RSA wrap is not bound to its header: the envelope's key
 * commitment still rejects a DEK moved in from another envelope.
 */
function binding(spec: KeySpec, context: Record<string, string>): { EncryptionContext?: Record<string, string>; EncryptionAlgorithm?: 'RSAES_OAEP_SHA_256' } {
  if (spec.startsWith('RSA_')) return { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
  return Object.keys(context).length === 0 ? {} : { EncryptionContext: context };
}

/** An envelope wrap binds its AAD as the encryption context, under one reserved key. */
const wrapContext = (aad: Uint8Array) => ({ [AAD_CONTEXT_KEY]: Buffer.from(aad).toString('base64') });
