// The `azure` provider: Azure Key Vault keys through @azure/keyvault-keys. A gateway key is one
// vault key (named after the gateway id) and its versions are the key's versions, so rotation is
// native. Envelope DEKs are wrapped with RSA-OAEP-256 under RSA keys; EC keys sign.
import { createPublicKey } from 'node:crypto';
import type { CryptographyClient } from '@azure/keyvault-keys';
import { compactFromDer, derFromCompact, isEcSpec } from '../../src/crypto/ecdsa.ts';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../../src/keys/specs.ts';
import { LruCache } from '../../src/lru.ts';
import type { Capabilities, CreateKeyRequest, CreateVersionRequest, CreatedKey, DecryptRequest, EncryptRequest, KeyProvider, KeyVersionRef, KeyVersions, SignRequest, Signer } from '../provider.ts';
import type { KeyVaultPort } from './client.ts';
import { azureErrorCode } from './errors.ts';
import { azureKey, azureSignature, signatureName } from './specs.ts';

/** Grammar: `azure:<key URL>`, `https://<vault>/keys/<name>`; a version adds `/<version>`. */
const refPattern = /^azure:(https:\/\/[a-z0-9.-]+(?::\d+)?)\/keys\/([0-9a-zA-Z-]{1,127})(?:\/([0-9a-f]{32}))?$/;

/** Key Vault's RSA wrap that binds no context: the envelope's key commitment rejects a DEK moved between envelopes. */
const WRAP = 'RSA-OAEP-256';

export class AzureKeyVaultProvider implements KeyProvider, Signer {
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

  constructor(private readonly vault: KeyVaultPort, private readonly vaultUrl: string) {}

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const name = req.keyId.replaceAll('_', '-');
    const versionRef = await this.newVersion(name, req.spec, req.usage, req.keyId);
    // Vault keys never leave the vault (export needs a Managed HSM release policy).
    return { ref: `azure:${this.vaultUrl}/keys/${name}`, versionRef, attributes: { extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true } };
  }

  /** Creating a key under an existing name adds a version (keys/create; no rotate permission needed). */
  async createVersion(req: CreateVersionRequest): Promise<KeyVersionRef> {
    return { ref: req.ref, versionRef: await this.newVersion(parse(req.ref).name, req.spec, req.usage, req.keyId) };
  }

  // The gateway keeps the window: the vault's own soft-delete retention is per vault, not per key.
  async scheduleDeletion(): Promise<void> {}
  async cancelDeletion(): Promise<void> {}

  /** Deletes the key (every version) and purges it; with purge protection on, it stays soft-deleted until the vault's retention ends. */
  async destroyKey(req: KeyVersions): Promise<void> {
    const { name } = parse(req.ref);
    const poller = await this.vault.beginDeleteKey(name, { intervalInMs: 200 });
    await poller.pollUntilDone();
    try {
      await this.vault.purgeDeletedKey(name);
    } catch (err) {
      if (azureErrorCode(err) !== 'PERMISSION_DENIED' && azureErrorCode(err) !== 'FAILED_PRECONDITION') throw err;
    }
    for (const v of req.versionRefs) this.cryptoClients.delete(v);
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    return resultOf(await this.crypto(req.versionRef).wrapKey(WRAP, req.plaintext));
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    return resultOf(await this.crypto(req.versionRef).unwrapKey(WRAP, req.ciphertext));
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
    const jwk = (await this.vault.getKey(name, { version })).key!;
    const b64u = (b?: Uint8Array) => Buffer.from(b ?? []).toString('base64url');
    const key = jwk.kty?.startsWith('RSA')
      ? { kty: 'RSA', n: b64u(jwk.n), e: b64u(jwk.e) }
      : { kty: 'EC', crv: jwk.crv === 'P-256K' ? 'secp256k1' : jwk.crv, x: b64u(jwk.x), y: b64u(jwk.y) };
    return createPublicKey({ key, format: 'jwk' }).export({ type: 'spki', format: 'der' });
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

  private async newVersion(name: string, spec: KeySpec, usage: KeyUsage, keyId: string): Promise<string> {
    const k = azureKey[spec]!;
    const keyOps = usage === 'SIGN_VERIFY' ? ['sign', 'verify'] : ['wrapKey', 'unwrapKey'];
    const key = await this.vault.createKey(name, k.kty, { keySize: k.keySize, curve: k.curve, keyOps, tags: { 'kmsgw-key-id': keyId } });
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
