// The `pkcs11` provider: keys generated and used inside a PKCS#11 token (any HSM; SoftHSM2 in the
// tests) through pkcs11js. Each gateway version is its own token object (a secret key, or a key
// pair), all versions of a key sharing its label; the gateway keeps the deletion window and
// destroys the objects when it ends. Bulk data never goes to the token: it wraps envelope DEKs.
import { createHash, randomBytes } from 'node:crypto';
import type { Handle, PKCS11 } from 'pkcs11js';
import { digestInfo } from '../../src/crypto/digest-info.ts';
import { compactFromDer, derFromCompact, type EcSpec } from '../../src/crypto/ecdsa.ts';
import { schemeParts } from '../../src/crypto/keywrap.ts';
import { random } from '../../src/crypto/random.ts';
import { KmsError, type ErrorCode } from '../../src/errors.ts';
import { signingAlgorithms, signingHash, specInfo, type KeySpec } from '../../src/keys/specs.ts';
import { LruCache } from '../../src/lru.ts';
import type {
  Capabilities, CreateKeyRequest, CreateVersionRequest, CreatedKey, CreationFinder, DecryptRequest, DiscoveredKey, Discoverer, DiscoveryPage, DiscoveryRequest, EncryptRequest, Exporter, ExportRequest,
  Importer, ImportRequest, KeyProvider, KeyVersionRef, KeyVersions, KeyWrapper, Macer, SignRequest, Signer, WrapAlgorithm,
} from '../provider.ts';
import { rsaAesSchemes, wrappedFor } from '../provider.ts';
import { pkcs11ErrorCode } from './errors.ts';
import { gcm, hmac, oaep, signing } from './mechanisms.ts';
import { checkImported, describe, find, findAll, findParts, generate, importTemplates, isGatewayLabel, listKeyObjects, pkcs11Specs, placeOf, publicKeyDer, readAttributes, type NewKey, type Part, type TokenKey } from './objects.ts';
import { ckr, Token, type TokenOptions } from './token.ts';
import { formatUri, parseUri } from './uri.ts';
import { exportWrapped, importWrapped, kwpPadsWithZeros, unwrapBytes, wrapBytes } from './wrap.ts';

/** First byte of an RSA-wrapped DEK: the OAEP hash, which depends on what the token supports. */
const oaepTag = { sha1: 1, sha256: 2 } as const;
/** The size of the token's import key pair. */
const IMPORT_KEY_BITS = 3072;

export class Pkcs11Provider implements KeyProvider, Signer, Macer, KeyWrapper, Exporter, Importer, Discoverer, CreationFinder {
  readonly kind = 'pkcs11' as const;
  readonly capabilities: Capabilities = {
    specs: pkcs11Specs,
    usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'MAC', 'WRAP_UNWRAP'],
    deletion: 'gateway',
    rotation: 'new-key',
    signingAlgorithms,
    signing: 'any',
  };
  readonly token: Token;
  private readonly handles = new LruCache<string, Handle>(10_000);
  /** OAEP with SHA-256 where the token has it (SoftHSM2 2.6 has SHA-1 only); learnt on first use. */
  private oaepHash: 'sha1' | 'sha256' | undefined;
  /** Whether the token's RFC 5649 wrap is non-standard for unaligned lengths (see kwpPadsWithZeros). */
  private kwpBroken: boolean | undefined;
  private importPair?: { generation: number; pair: Promise<{ id: Buffer; hash: 'sha1' | 'sha256'; wrappingKey: Uint8Array }> };

  constructor(options: TokenOptions) {
    this.token = new Token(options);
  }

  async createKey(req: CreateKeyRequest): Promise<CreatedKey> {
    const { versionRef, attributes } = await this.newVersion({ label: req.keyId, id: objectId(req.operation), spec: req.spec, usage: req.usage, exportable: req.exportable });
    return { ref: formatUri({ token: this.token.label!, object: req.keyId }), versionRef, attributes };
  }

  async createVersion(req: CreateVersionRequest): Promise<KeyVersionRef> {
    const { object } = parseUri(req.ref, false);
    return { ref: req.ref, versionRef: (await this.newVersion({ label: object, id: objectId(req.operation), spec: req.spec, usage: req.usage, exportable: req.exportable })).versionRef };
  }

  /**
   * What a creation or an import under `operation` left on the token, found by the CKA_ID made from
   * the operation id. A key pair whose import stopped between its private and its public object is
   * removed instead, so that the retry makes it whole under the same id.
   */
  async findCreated(req: { ref?: string; keyId: string; operation: string }): Promise<KeyVersionRef | undefined> {
    const id = objectId(req.operation);
    const whole = await this.token.withSession(async (lib, s) => {
      const parts = findParts(lib, this.token.p, s, id);
      const found = parts.has('secret') || (parts.has('private') && parts.has('public'));
      if (!found) for (const handle of parts.values()) lib.C_DestroyObject(s, handle);
      return found;
    });
    if (!whole) return undefined;
    const { ref, versionRef } = this.placed(req, id);
    return { ref, versionRef };
  }

  // The gateway keeps state and the deletion window for token keys: a token has neither.
  async scheduleDeletion(): Promise<void> {}
  async cancelDeletion(): Promise<void> {}

  async destroyKey(req: KeyVersions): Promise<void> {
    for (const v of req.versionRefs) {
      const { id } = this.parse(v);
      await this.token.withSession(async (lib, s) => {
        for (const h of findAll(lib, this.token.p, s, id)) lib.C_DestroyObject(s, h);
      });
      for (const part of ['secret', 'private', 'public'] as const) this.handles.delete(this.cacheKey(id, part));
    }
  }

  async encrypt(req: EncryptRequest): Promise<Uint8Array> {
    const p = this.token.p;
    if (specInfo[req.spec].family === 'rsa') {
      return this.use(req, 'public', async (lib, s, key) => {
        const hash = this.initOaep(lib, s, key);
        const out = await lib.C_EncryptAsync(s, Buffer.from(req.plaintext), Buffer.alloc(specInfo[req.spec].bits / 8));
        return Buffer.concat([Buffer.of(oaepTag[hash]), out]);
      });
    }
    const iv = random(12);
    return this.use(req, 'secret', async (lib, s, key) => {
      lib.C_EncryptInit(s, gcm(p, iv, req.aad), key);
      const out = await lib.C_EncryptAsync(s, Buffer.from(req.plaintext), Buffer.alloc(req.plaintext.length + 16));
      return Buffer.concat([iv, out]);
    });
  }

  async decrypt(req: DecryptRequest): Promise<Uint8Array> {
    const p = this.token.p;
    const ct = Buffer.from(req.ciphertext);
    if (specInfo[req.spec].family === 'rsa') {
      const hash = ct[0] === oaepTag.sha1 ? 'sha1' : ct[0] === oaepTag.sha256 ? 'sha256' : undefined;
      if (!hash) throw new KmsError('INVALID_ARGUMENT', 'the wrapped key names no known OAEP hash');
      return this.use(req, 'private', async (lib, s, key) => {
        lib.C_DecryptInit(s, oaep(p, hash), key);
        return authenticated(lib.C_DecryptAsync(s, ct.subarray(1), Buffer.alloc(ct.length)));
      });
    }
    if (ct.length < 12 + 16) throw new KmsError('INVALID_ARGUMENT', 'the wrapped key is too short');
    return this.use(req, 'secret', async (lib, s, key) => {
      lib.C_DecryptInit(s, gcm(p, ct.subarray(0, 12), req.aad), key);
      return authenticated(lib.C_DecryptAsync(s, ct.subarray(12), Buffer.alloc(ct.length)));
    });
  }

  async sign(req: SignRequest): Promise<Uint8Array> {
    const data = toSign(req);
    const sig = await this.use(req, 'private', async (lib, s, key) => {
      lib.C_SignInit(s, signing(this.token.p, req.algorithm), key);
      return lib.C_SignAsync(s, data, Buffer.alloc(512));
    });
    // Tokens return ECDSA signatures as r‖s; the gateway, like the clouds, answers DER.
    return req.algorithm.startsWith('ECDSA_') ? derFromCompact(req.spec as EcSpec, sig) : sig;
  }

  async verify(req: SignRequest & { signature: Uint8Array }): Promise<boolean> {
    const signature = req.algorithm.startsWith('ECDSA_') ? compactFromDer(req.spec as EcSpec, req.signature) : req.signature;
    if (!signature) return false;
    const data = toSign(req);
    return this.use(req, 'public', async (lib, s, key) => {
      lib.C_VerifyInit(s, signing(this.token.p, req.algorithm), key);
      return verified(lib.C_VerifyAsync(s, data, Buffer.from(signature)));
    });
  }

  async getPublicKey(req: KeyVersionRef & { spec: KeySpec }): Promise<Uint8Array> {
    return this.use(req, 'public', async (lib, s, key) => publicKeyDer(lib, this.token.p, s, key, req.spec));
  }

  async mac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array }): Promise<Uint8Array> {
    return this.use(req, 'secret', async (lib, s, key) => {
      lib.C_SignInit(s, hmac(this.token.p, req.spec), key);
      return lib.C_SignAsync(s, Buffer.from(req.message), Buffer.alloc(64));
    });
  }

  async verifyMac(req: KeyVersionRef & { spec: KeySpec; message: Uint8Array; mac: Uint8Array }): Promise<boolean> {
    return this.use(req, 'secret', async (lib, s, key) => {
      lib.C_VerifyInit(s, hmac(this.token.p, req.spec), key);
      return verified(lib.C_VerifyAsync(s, Buffer.from(req.message), Buffer.from(req.mac)));
    });
  }

  async wrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; key: Uint8Array }): Promise<Uint8Array> {
    const rsa = specInfo[req.spec].family === 'rsa';
    return this.use(req, rsa ? 'public' : 'secret', async (lib, s, key) => {
      if (!rsa && req.key.length % 8 !== 0 && (this.kwpBroken ??= await kwpPadsWithZeros(lib, this.token.p, s, key))) {
        throw new KmsError('UNIMPLEMENTED', 'this token zero-pads before RFC 5649 wrapping, which is standard only for lengths that are a multiple of 8 bytes; pad or choose another key size');
      }
      return wrapBytes(lib, this.token.p, s, this.wrapMechanism(req.algorithm), key, req.key);
    });
  }

  async unwrapKey(req: KeyVersionRef & { spec: KeySpec; algorithm: WrapAlgorithm; wrappedKey: Uint8Array }): Promise<Uint8Array> {
    const rsa = specInfo[req.spec].family === 'rsa';
    return this.use(req, rsa ? 'private' : 'secret', (lib, s, key) => unwrapBytes(lib, this.token.p, s, this.wrapMechanism(req.algorithm), key, req.wrappedKey));
  }

  /**
   * Material comes in under CKM_RSA_AES_KEY_WRAP for the token's import key: an RSA-3072 pair made
   * once per opening of the token as session objects, so it is gone with the gateway; with the OAEP
   * hash the token has (SHA-256 first, where it has it).
   */
  async importKey(req: ImportRequest): Promise<CreatedKey> {
    const pair = await this.importKeyPair();
    const schemes = pair.hash === 'sha256' ? rsaAesSchemes : ['RSA_AES_KEY_WRAP_SHA_1' as const];
    const { target, wrapped } = await wrappedFor(req, async (scheme) => ({ scheme, wrappingKey: pair.wrappingKey }), schemes);
    const p = this.token.p;
    const id = objectId(req.operation);
    const { label, ref, versionRef } = this.placed(req, id);
    const t = importTemplates(p, { label, id, spec: req.spec, usage: req.usage, exportable: req.exportable }, req.publicKey);
    const attributes = await this.token.withSession(async (lib, s) => {
      const unwrapper = find(lib, p, s, pair.id, 'private');
      const key = await importWrapped(lib, p, s, unwrapper, IMPORT_KEY_BITS / 8, target.scheme, wrapped, t.secret).catch((err: unknown) => {
        if (req.spec === 'ED25519' && ckr(err) === 'CKR_FUNCTION_FAILED') throw new KmsError('UNIMPLEMENTED', 'the token cannot take an Ed25519 private key in (SoftHSM2 2.6 fails to unwrap Ed25519 PKCS#8)', { cause: err });
        throw err;
      });
      try {
        checkImported(lib, p, s, key, req.spec, t.public);
        if (t.public) lib.C_CreateObject(s, t.public);
        return readAttributes(lib, p, s, key);
      } catch (err) {
        lib.C_DestroyObject(s, key);
        throw err;
      }
    });
    return { ref, versionRef, attributes };
  }

  /** Where an import (or a creation found again) of `id` lives: a new key is labelled with its gateway id, a next version with its key's label. */
  private placed(req: { ref?: string; keyId: string }, id: Buffer): KeyVersionRef & { label: string } {
    const label = req.ref ? parseUri(req.ref, false).object : req.keyId;
    return { label, ref: req.ref ?? formatUri({ token: this.token.label!, object: label }), versionRef: formatUri({ token: this.token.label!, object: label, id }) };
  }

  private importKeyPair() {
    if (this.importPair?.generation !== this.token.generation) {
      const generation = this.token.generation;
      const pair = this.token.withSession(async (lib, s) => {
        const p = this.token.p;
        const id = randomBytes(16);
        const common = [{ type: p.CKA_TOKEN, value: false }, { type: p.CKA_ID, value: id }];
        const { publicKey } = await lib.C_GenerateKeyPairAsync(s, { mechanism: p.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
          ...common, { type: p.CKA_ENCRYPT, value: true }, { type: p.CKA_WRAP, value: true },
          { type: p.CKA_MODULUS_BITS, value: IMPORT_KEY_BITS }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ], [
          ...common, { type: p.CKA_PRIVATE, value: true }, { type: p.CKA_SENSITIVE, value: true }, { type: p.CKA_EXTRACTABLE, value: false },
          { type: p.CKA_UNWRAP, value: true }, { type: p.CKA_DECRYPT, value: false },
        ]);
        // One OAEP encryption learns the hash the token has for it.
        const hash = this.initOaep(lib, s, publicKey);
        await lib.C_EncryptAsync(s, Buffer.alloc(1), Buffer.alloc(IMPORT_KEY_BITS / 8));
        const wrappingKey = publicKeyDer(lib, p, s, publicKey, 'RSA_3072');
        lib.C_DestroyObject(s, publicKey);
        return { id, hash, wrappingKey };
      });
      this.importPair = { generation, pair };
      pair.catch(() => { if (this.importPair?.pair === pair) this.importPair = undefined; });
    }
    return this.importPair!.pair;
  }

  async exportKey(req: ExportRequest): Promise<Uint8Array> {
    const part = specInfo[req.spec].family === 'aes' || specInfo[req.spec].family === 'hmac' ? 'secret' : 'private';
    return this.use(req, part, (lib, s, key) => exportWrapped(lib, this.token.p, s, key, req.wrappingKey, req.scheme));
  }

  errorCode(err: unknown): ErrorCode {
    return pkcs11ErrorCode(err);
  }

  /**
   * Every key object on the token, one entry per object: a gateway key's versions appear each
   * under its label (the gateway key id). The cursor is the last key's place in (label, id) order.
   */
  async discoverKeys(req: DiscoveryRequest): Promise<DiscoveryPage> {
    return this.token.withSession(async (lib, s) => {
      // Resume after the last object of the previous page, not at an offset: objects made or destroyed
      // meanwhile must not make a pass skip one (a skipped key would look gone).
      const all = listKeyObjects(lib, this.token.p, s);
      const rest = req.cursor === undefined ? all : all.filter((o) => placeOf(o) > req.cursor!);
      // Objects sharing a place (one label and id) end one page together: the next resumes after it.
      let end = Math.min(req.pageSize, rest.length);
      while (end < rest.length && placeOf(rest[end]!) === placeOf(rest[end - 1]!)) end++;
      const page = rest.slice(0, end);
      return {
        keys: page.map((o) => this.discovered(describe(lib, this.token.p, s, o.handle))),
        next: rest.length > end ? placeOf(page.at(-1)!) : undefined,
      };
    });
  }

  private discovered(k: TokenKey): DiscoveredKey {
    // Objects without a label are named by their id, so their references stay distinct.
    const object = k.label || `id-${k.id.toString('hex')}`;
    const ref = formatUri({ token: this.token.label!, object, id: k.id });
    return {
      ref, versionRef: ref, spec: k.spec, usage: k.usage, nativeSpec: k.nativeSpec, state: 'ENABLED', tags: {},
      ...(isGatewayLabel(k.label) && { gatewayKeyId: k.label }),
    };
  }

  async close(): Promise<void> {
    await this.token.close();
  }

  private wrapMechanism(algorithm: WrapAlgorithm) {
    return algorithm === 'AES_KEY_WRAP_PAD' ? { mechanism: this.token.p.CKM_AES_KEY_WRAP_PAD } : oaep(this.token.p, schemeParts(algorithm).hash);
  }

  /** Starts an OAEP encryption with SHA-256 if the token has it, else SHA-1 (learnt once). */
  private initOaep(lib: PKCS11, s: Handle, key: Handle): 'sha1' | 'sha256' {
    if (this.oaepHash !== 'sha1') {
      try {
        lib.C_EncryptInit(s, oaep(this.token.p, 'sha256'), key);
        return (this.oaepHash = 'sha256');
      } catch (err) {
        if (!['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_PARAM_INVALID'].includes(ckr(err) ?? '')) throw err;
      }
    }
    lib.C_EncryptInit(s, oaep(this.token.p, 'sha1'), key);
    return (this.oaepHash = 'sha1');
  }

  private async newVersion(k: NewKey) {
    const attributes = await this.token.withSession(async (lib, s) => {
      const key = await generate(lib, this.token.p, s, k);
      return readAttributes(lib, this.token.p, s, key);
    });
    return { versionRef: formatUri({ token: this.token.label!, object: k.label, id: k.id }), attributes };
  }

  /** Runs `fn` with the handle of one part of a version, found once and then remembered. */
  private use<T>(req: KeyVersionRef, part: Part, fn: (lib: PKCS11, session: Handle, key: Handle) => Promise<T>): Promise<T> {
    const { id } = this.parse(req.versionRef);
    return this.token.withSession(async (lib, s) => {
      const cacheKey = this.cacheKey(id, part);
      let key = this.handles.get(cacheKey);
      if (!key) {
        key = find(lib, this.token.p, s, id, part);
        this.handles.set(cacheKey, key);
      }
      return fn(lib, s, key);
    });
  }

  /** Handles belong to one opening of the token: the generation keeps an older one's out. */
  private cacheKey(id: Buffer, part: Part): string {
    return `${this.token.generation}:${id.toString('hex')}:${part}`;
  }

  private parse(versionRef: string) {
    const uri = parseUri(versionRef, true);
    if (this.token.label !== undefined && uri.token !== this.token.label) {
      throw new KmsError('INVALID_ARGUMENT', `"${versionRef}" names token "${uri.token}", not this connection's "${this.token.label}"`);
    }
    return uri;
  }
}

/** The digest the core computed (PKCS#1 v1.5 signs it inside a DigestInfo), or for ED25519 the message. */
function toSign(req: SignRequest): Buffer {
  if (req.algorithm === 'ED25519') return Buffer.from(req.message!);
  const digest = Buffer.from(req.digest!);
  return req.algorithm.startsWith('RSASSA_PKCS1') ? digestInfo(signingHash(req.algorithm)!.hash, digest) : digest;
}

/**
 * A wrapped key the token cannot open is bad input. SoftHSM2 reports a failed GCM tag check as
 * CKR_GENERAL_ERROR (OpenSSL's final step failed), other tokens as CKR_ENCRYPTED_DATA_INVALID.
 */
async function authenticated(result: Promise<Buffer>): Promise<Buffer> {
  try {
    return await result;
  } catch (err) {
    if (['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR'].includes(ckr(err) ?? '')) {
      throw new KmsError('INVALID_ARGUMENT', 'the wrapped key failed authentication', { cause: err });
    }
    throw err;
  }
}

/** A signature the token rejects is an answer (false), not an error. */
async function verified(result: Promise<boolean>): Promise<boolean> {
  try {
    return await result;
  } catch (err) {
    if (['CKR_SIGNATURE_INVALID', 'CKR_SIGNATURE_LEN_RANGE'].includes(ckr(err) ?? '')) return false;
    throw err;
  }
}

/** A new version's CKA_ID: made from the creation's operation id where it has one (findCreated looks for it), else random. */
const objectId = (operation?: string): Buffer => (operation === undefined ? randomBytes(16) : createHash('sha256').update(`kmsgw operation ${operation}`).digest().subarray(0, 16));
