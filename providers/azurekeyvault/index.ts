// The `azure` provider: Azure Key Vault keys through @azure/keyvault-keys. A gateway key is one
// vault key (named after the gateway id) and its versions are the key's versions, so rotation is
// native. Envelope DEKs are wrapped with RSA-OAEP-256 under RSA keys; EC keys sign.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { CryptographyClient, JsonWebKey, KeyVaultKey } from '@azure/keyvault-keys';
import { compactFromDer, derFromCompact, isEcSpec } from '../../src/crypto/ecdsa.ts';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../../src/keys/specs.ts';
import { LruCache } from '../../src/lru.ts';
import type {
  Capabilities, CreateKeyRequest, CreateVersionRequest, CreatedKey, CreationFinder, DecryptRequest, DiscoveredKey, Discoverer, DiscoveryPage, DiscoveryRequest, EncryptRequest, Importer, ImportRequest,
  KeyProvider, KeyVersionRef, KeyVersions, NativeCipher, NativeRequest, SignRequest, Signer, Tagger,
} from '../provider.ts';
import { describeListed, fitTags, importedAttributes, wrappedFor } from '../provider.ts';
import { SoftwareImportKey } from '../software-import.ts';
import type { KeyVaultPort } from './client.ts';
import { azureErrorCode } from './errors.ts';
import { azureKey, azureSignature, fromJwk, periodDays, signatureName, type AzureKey } from './specs.ts';

/** Grammar: `azure:<key URL>`, `https://<vault>/keys/<name>`; a version adds `/<version>`. */
const refPattern = /^azure:(https:\/\/[a-z0-9.-]+(?::\d+)?)\/keys\/([0-9a-zA-Z-]{1,127})(?:\/([0-9a-f]{32}))?$/;

/** Key Vault's RSA wrap that binds no context: the envelope's key commitment rejects a DEK moved between envelopes. */
const WRAP = 'RSA-OAEP-256';
/** The tag that names the gateway key a vault key was made for. */
const KEY_ID_TAG = 'kmsgw-key-id';
/** The tag that names the operation a version was made under, for findCreated. */
const OPERATION_TAG = 'kmsgw-operation';
const OWN_TAGS = [KEY_ID_TAG, OPERATION_TAG];
/** The key exchange key BYOK imports wrap material for: one per vault, shared by the gateway's instances. */
const KEK_NAME = 'kmsgw-key-exchange';

/** The gateway tags a version takes beside those it keeps: Key Vault's limits are 15 tags a key, names to 512 characters, values to 256. */
const vaultTags = (tags: Record<string, string>, kept: Record<string, string>): Record<string, string> =>
  fitTags(Object.entries(tags).filter(([k, v]) => k.length <= 512 && v.length <= 256 && !OWN_TAGS.includes(k)), kept, 15);

/** The vault key of a gateway key is named after it (vault names take no '_'). */
const vaultName = (keyId: string) => keyId.replaceAll('_', '-');

/** A new version's tags: the caller's that fit, the gateway key's id and, when there is one, the operation it is made under. */
function newVersionTags(tags: Record<string, string>, keyId: string, operation?: string): Record<string, string> {
  const own = { [KEY_ID_TAG]: keyId, ...(operation && { [OPERATION_TAG]: operation }) };
  return { ...vaultTags(tags, own), ...own };
}

export class AzureKeyVaultProvider implements KeyProvider, NativeCipher, Signer, Discoverer, Tagger, Importer, CreationFinder {
  readonly kind = 'azure' as const;
  readonly capabilities: Capabilities = {
    specs: Object.keys(azureKey) as KeySpec[],
    usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    deletion: 'gateway',
    rotation: 'versions',
    signingAlgorithms: Object.keys(azureSignature) as SigningAlgorithm[],
    signing: 'any',
  };
  /** A cryptography client fetches its key once; keep one per version. */
  private readonly cryptoClients = new LruCache<string, CryptographyClient>(10_000);
  private readonly importer = new SoftwareImportKey();
  private keyExchangeKey?: Promise<{ kid: string; spki: Uint8Array }>;

  /** `HSM`: keys are HSM-protected (a Premium vault or a Managed HSM), and material comes in by BYOK. */
  constructor(private readonly vault: KeyVaultPort, private readonly vaultUrl: string, private readonly protection: 'SOFTWARE' | 'HSM' = 'SOFTWARE') {}

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const name = vaultName(req.keyId);
    const versionRef = await this.newVersion(name, req.spec, req.usage, newVersionTags({}, req.keyId, req.operation));
    // Vault keys never leave the vault (export needs a Managed HSM release policy).
    return { ref: this.refOf(name), versionRef, attributes: { extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true } };
  }

  /** Creating a key under an existing name adds a version (keys/create; no rotate permission needed). */
  async createVersion(req: CreateVersionRequest): Promise<KeyVersionRef> {
    return { ref: req.ref, versionRef: await this.newVersion(parse(req.ref).name, req.spec, req.usage, newVersionTags(req.tags ?? {}, req.keyId, req.operation)) };
  }

  /**
   * The version of the key's name tagged with the operation (a new key is named after its gateway
   * key). Lists the name's versions: a page per 25, on a retry only.
   */
  async findCreated(req: { ref?: string; keyId: string; operation: string }): Promise<KeyVersionRef | undefined> {
    const name = req.ref ? parse(req.ref).name : vaultName(req.keyId);
    try {
      for await (const v of this.vault.listPropertiesOfKeyVersions(name)) {
        if (v.tags?.[OPERATION_TAG] === req.operation) return { ref: this.refOf(name), versionRef: `azure:${v.id!}` };
      }
    } catch (err) {
      if (azureErrorCode(err) !== 'NOT_FOUND') throw err;
    }
    return undefined;
  }

  /**
   * Key Vault's key import, as a new version under the key's name. In software, the vault takes the
   * private key as a JWK over TLS: the material comes wrapped for a key pair of this provider's own
   * and passes through the gateway's memory in the clear, as the local keystore's does. HSM-protected,
   * it comes by BYOK: its holder wraps it for the vault's key exchange key (CKM_RSA_AES_KEY_WRAP,
   * OAEP with SHA-1 as the BYOK specification has it) and only the vault's HSM opens it.
   */
  async importKey(req: ImportRequest): Promise<CreatedKey> {
    const k = azureKey[req.spec];
    if (!k) throw new KmsError('UNIMPLEMENTED', `a vault holds no ${req.spec} key`);
    const key = this.protection === 'HSM' ? await this.transferBlob(req, k) : await this.privateJwk(req, k);
    const name = req.ref ? parse(req.ref).name : vaultName(req.keyId);
    const imported = await this.vault.importKey(name, key, { hardwareProtected: this.protection === 'HSM', tags: newVersionTags(req.tags ?? {}, req.keyId, req.operation) });
    // The vault never exports it.
    return { ref: this.refOf(name), versionRef: `azure:${imported.id!}`, attributes: importedAttributes(false) };
  }

  private async privateJwk(req: ImportRequest, k: AzureKey): Promise<JsonWebKey> {
    const pkcs8 = await this.importer.unwrap(req);
    let jwk: Record<string, string | undefined>;
    try {
      jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }) as Record<string, string | undefined>;
    } catch (err) {
      throw new KmsError('INVALID_ARGUMENT', `the material is not a ${req.spec} private key`, { cause: err });
    } finally {
      pkcs8.fill(0);
    }
    const bytes = (f: string) => (jwk[f] === undefined ? undefined : Buffer.from(jwk[f]!, 'base64url'));
    const curve = jwk.crv === 'secp256k1' ? 'P-256K' : jwk.crv;
    if (jwk.kty !== k.kty || (k.curve ? curve !== k.curve : bytes('n')!.length * 8 !== k.keySize)) throw new KmsError('INVALID_ARGUMENT', `the material is not a ${req.spec} private key`);
    return {
      kty: k.kty, keyOps: keyOps(req.usage), ...(k.curve ? { crv: k.curve } : {}),
      ...Object.fromEntries(['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'x', 'y'].map((f) => [f, bytes(f)]).filter(([, v]) => v !== undefined)),
    };
  }

  /** BYOK's key transfer blob (JSON, in `key_hsm`): the material wrapped for the key exchange key, which its header names. */
  private async transferBlob(req: ImportRequest, k: AzureKey): Promise<JsonWebKey> {
    const kek = await this.exchangeKey();
    const { wrapped } = await wrappedFor(req, async (scheme) => ({ scheme, wrappingKey: kek.spki }), ['RSA_AES_KEY_WRAP_SHA_1']);
    const blob = { schema_version: '1.0.0', header: { kid: kek.kid, alg: 'dir', enc: 'CKM_RSA_AES_KEY_WRAP' }, ciphertext: Buffer.from(wrapped).toString('base64url'), generator: 'kms-gateway' };
    return { kty: `${k.kty}-HSM`, keyOps: keyOps(req.usage), ...(k.curve ? { crv: k.curve } : {}), t: Buffer.from(JSON.stringify(blob)) };
  }

  /**
   * The vault's key exchange key: an RSA-HSM key that can only import (BYOK's requirement), found by
   * its name or made at the first import, and kept for the process's life.
   */
  private exchangeKey(): Promise<{ kid: string; spki: Uint8Array }> {
    this.keyExchangeKey ??= (async () => {
      let kek: KeyVaultKey | undefined;
      try {
        kek = await this.vault.getKey(KEK_NAME);
      } catch (err) {
        if (azureErrorCode(err) !== 'NOT_FOUND') throw err;
      }
      const usable = kek?.keyType === 'RSA-HSM' && kek.properties.enabled !== false && kek.keyOperations?.length === 1 && kek.keyOperations[0] === 'import';
      if (!usable) kek = await this.vault.createKey(KEK_NAME, 'RSA-HSM', { keySize: 4096, keyOps: ['import'] });
      return { kid: kek!.id!, spki: spkiOf(kek!.key!) };
    })();
    this.keyExchangeKey.catch(() => { this.keyExchangeKey = undefined; });
    return this.keyExchangeKey;
  }

  /**
   * Tags on every version: Key Vault tags versions (and shows the newest's), and a new version starts
   * with the tags it is made with. Tags set by others stay, those the gateway wrote before and no longer has go.
   */
  async setTags(req: KeyVersions & { tags: Record<string, string>; previous: Record<string, string> }): Promise<Record<string, string>> {
    const { name } = parse(req.ref);
    let written: Record<string, string> = {};
    for (const v of req.versionRefs) {
      const { version } = parse(v);
      const kept = Object.fromEntries(Object.entries((await this.vault.getKey(name, { version })).properties.tags ?? {}).filter(([k]) => !(k in req.previous)));
      written = vaultTags(req.tags, kept);
      await this.vault.updateKeyProperties(name, version!, { tags: { ...kept, ...written } });
    }
    return written;
  }

  // The gateway keeps the window: the vault's own soft-delete retention is per vault, not per key.
  async scheduleDeletion(): Promise<void> {}
  async cancelDeletion(): Promise<void> {}

  /** Deletes the key (every version) and purges it; with purge protection on, it stays soft-deleted until the vault's retention ends. */
  async destroyKey(req: KeyVersions): Promise<void> {
    const { name } = parse(req.ref);
    try {
      await (await this.vault.beginDeleteKey(name, { intervalInMs: 200 })).pollUntilDone();
    } catch (err) {
      if (azureErrorCode(err) !== 'NOT_FOUND') throw err; // deleted by an earlier attempt
    }
    try {
      await this.vault.purgeDeletedKey(name);
    } catch (err) {
      // Purged already (NOT_FOUND), or the vault keeps it for its retention (purge protection).
      if (!['NOT_FOUND', 'PERMISSION_DENIED', 'FAILED_PRECONDITION'].includes(azureErrorCode(err))) throw err;
    }
    for (const v of req.versionRefs) this.cryptoClients.delete(v);
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    return resultOf(await this.crypto(req.versionRef).wrapKey(WRAP, req.plaintext));
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    return resultOf(await this.crypto(req.versionRef).unwrapKey(WRAP, req.ciphertext));
  }

  /** Key Vault's own ciphertext under an RSA key: the RSA-OAEP-256 wrap the envelope uses, opened by the vault's unwrapKey. */
  encryptNative(req: NativeRequest & { plaintext: Uint8Array }): Promise<Uint8Array> {
    return this.encrypt({ ...req, aad: new Uint8Array(0) });
  }

  decryptNative(req: NativeRequest & { ciphertext: Uint8Array }): Promise<Uint8Array> {
    return this.decrypt({ ...req, aad: new Uint8Array(0) });
  }

  async sign(req: SignRequest): Promise<Uint8Array> {
    const result = resultOf(await this.crypto(req.versionRef).sign(signatureName(req.spec, req.algorithm), req.digest!));
    // Key Vault answers ECDSA as r‖s (JWS); the gateway, like AWS and GCP, answers DER.
    return isEcSpec(req.spec) ? derFromCompact(req.spec, result) : result;
  }

  async verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean> {
    const signature = isEcSpec(req.spec) ? compactFromDer(req.spec, req.signature) : req.signature;
    if (!signature) return false;
    const { result } = await this.crypto(req.versionRef).verify(signatureName(req.spec, req.algorithm), req.digest!, signature);
    if (typeof result !== 'boolean') throw new MalformedReply();
    return result;
  }

  async getPublicKey(req: KeyVersionRef & { spec: KeySpec }): Promise<Uint8Array> {
    const { name, version } = parse(req.versionRef);
    return spkiOf((await this.vault.getKey(name, { version })).key!);
  }

  /**
   * The vault's keys, then its soft-deleted ones (pending deletion), in name order. The SDK's pages
   * (4.10.2) lose their continuation token when it maps them, so a pass cannot resume at the vault's
   * own page: each page lists the names (25 a call, names only) and resumes after the last one done,
   * as the PKCS#11 adapter does.
   */
  async discoverKeys(req: DiscoveryRequest): Promise<DiscoveryPage> {
    const places: string[] = [];
    for await (const page of this.vault.listPropertiesOfKeys().byPage({ maxPageSize: 25 })) {
      places.push(...page.map((p) => `0:${p.name}`));
      await req.pace();
    }
    for await (const page of this.vault.listDeletedKeys().byPage({ maxPageSize: 25 })) {
      places.push(...page.map((d) => `1:${d.name}`));
      await req.pace();
    }
    const rest = places.sort().filter((p) => req.cursor === undefined || p > req.cursor);
    const page = rest.slice(0, req.pageSize);
    const keys = await describeListed(page, (p) => this.refOf(p.slice(2)), (p) => this.describeKey(p.slice(2), p.startsWith('1:'), req.pace), azureErrorCode);
    return { keys, next: rest.length > req.pageSize ? page.at(-1) : undefined };
  }

  private async describeKey(name: string, deleted: boolean, pace: () => Promise<void>): Promise<DiscoveredKey> {
    await pace();
    const key: KeyVaultKey = deleted ? await this.vault.getDeletedKey(name) : await this.vault.getKey(name);
    const all = key.properties.tags ?? {};
    const tags = Object.fromEntries(Object.entries(all).filter(([k]) => !OWN_TAGS.includes(k)));
    return {
      ref: this.refOf(name), versionRef: `azure:${key.id!}`, ...fromJwk(key.key ?? {}),
      state: deleted ? 'PENDING_DELETION' : key.properties.enabled === false ? 'DISABLED' : 'ENABLED',
      tags, createdAt: key.properties.createdOn, rotation: deleted ? undefined : await this.rotationOf(name, pace), gatewayKeyId: all[KEY_ID_TAG],
    };
  }

  /** A rotation policy with a Rotate action; none readable (no `rotationpolicy/get` permission) is left unknown. */
  private async rotationOf(name: string, pace: () => Promise<void>): Promise<DiscoveredKey['rotation']> {
    await pace();
    try {
      const policy = await this.vault.getKeyRotationPolicy(name);
      const rotate = policy.lifetimeActions?.find((a) => a.action.toLowerCase() === 'rotate');
      return { enabled: rotate !== undefined, periodDays: periodDays(rotate?.timeAfterCreate) };
    } catch (err) {
      if (azureErrorCode(err) === 'PERMISSION_DENIED') return undefined;
      throw err;
    }
  }

  /** A key's reference: its vault and name, no version. */
  private refOf(name: string): string {
    return `azure:${this.vaultUrl}/keys/${name}`;
  }

  errorCode(err: unknown): ErrorCode {
    return err instanceof KmsError ? err.code : azureErrorCode(err);
  }

  /** Key Vault paces throttled callers with Retry-After (seconds) on 429s. */
  retryAfter(err: unknown): number | undefined {
    const value = (err as { response?: { headers?: { get?(name: string): string | undefined } } })?.response?.headers?.get?.('retry-after');
    const seconds = value === undefined ? NaN : Number(value);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  }

  private async newVersion(name: string, spec: KeySpec, usage: KeyUsage, tags: Record<string, string>): Promise<string> {
    const k = azureKey[spec]!;
    const key = await this.vault.createKey(name, this.protection === 'HSM' ? `${k.kty}-HSM` : k.kty, { keySize: k.keySize, curve: k.curve, keyOps: keyOps(usage), tags });
    return `azure:${key.id!}`;
  }

  private crypto(versionRef: string): CryptographyClient {
    let client = this.cryptoClients.get(versionRef);
    if (!client) {
      const { name, version } = parse(versionRef);
      if (!version) throw new KmsError('INVALID_ARGUMENT', `"${versionRef}" names no key version`);
      client = this.vault.getCryptographyClient(name, { keyVersion: version });
      this.cryptoClients.set(versionRef, client);
    }
    return client;
  }
}

/** What a gateway key of `usage` does in the vault: sign, or wrap the envelopes' DEKs. */
const keyOps = (usage: KeyUsage) => (usage === 'SIGN_VERIFY' ? ['sign', 'verify'] : ['wrapKey', 'unwrapKey']);

/** A vault key's public half (DER SubjectPublicKeyInfo), from its JWK. */
function spkiOf(jwk: JsonWebKey): Uint8Array {
  const b64u = (b?: Uint8Array) => Buffer.from(b ?? []).toString('base64url');
  const key = jwk.kty?.startsWith('RSA')
    ? { kty: 'RSA', n: b64u(jwk.n), e: b64u(jwk.e) }
    : { kty: 'EC', crv: jwk.crv === 'P-256K' ? 'secp256k1' : jwk.crv, x: b64u(jwk.x), y: b64u(jwk.y) };
  return createPublicKey({ key, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

/** A reply the SDK accepted but that carries no result (a proxy's page, say): INTERNAL, without its body. */
class MalformedReply extends Error {
  constructor() { super('Key Vault answered without a result'); }
}

function resultOf(out: { result?: Uint8Array }): Uint8Array {
  if (!(out.result instanceof Uint8Array) || out.result.length === 0) throw new MalformedReply();
  return out.result;
}

function parse(ref: string): { vault: string; name: string; version?: string } {
  const m = refPattern.exec(ref);
  if (!m) throw new KmsError('INVALID_ARGUMENT', `"${ref}" is not an Azure Key Vault key reference (azure:https://<vault>/keys/<name>[/<version>])`);
  return { vault: m[1]!, name: m[2]!, version: m[3] };
}
