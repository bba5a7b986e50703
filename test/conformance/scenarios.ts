// The conformance suite (STYLE rule 6): the same scenarios, through the gateway's API, for every
// provider. A provider's test file is a harness plus one call to `conformance`. What a provider
// cannot do it declares in its capabilities; the scenarios follow them, and anything relaxed
// beyond that is listed with its reason in exceptions.ts.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, verify as nodeVerify, constants } from 'node:crypto';
import { kwpUnwrap, oaepUnwrap, rsaAesUnwrap, schemeParts } from '../../src/crypto/keywrap.ts';
import { exportSchemes, isExporter, isImporter, isKeyWrapper, isMacer, isNativeCipher, isSigner, withCapability, type Capabilities, type KeyProvider } from '../../providers/provider.ts';
import { heldVersion, loadKeyGraphs } from '../../src/db/queries/keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingHash, specInfo, type KeySpec, type SigningAlgorithm } from '../../src/keys/specs.ts';
import { b64, startGateway, type TestGateway } from '../support/gateway.ts';
import { outage } from '../support/outage.ts';
import { exceptions } from './exceptions.ts';

export interface Harness {
  /** The provider kind, as in exceptions.ts. */
  provider: string;
  /** The gateway's configuration with the connection under test. */
  config: Record<string, unknown>;
  connection: string;
  /** The emulator the run talks to, for exceptions.ts; none for mocked HTTP and real tokens. */
  emulator?: string;
  /** An exporting connection other than the one under test, whose keys the import scenario copies; `local` when absent. */
  source?: string;
  /**
   * Opens a native ciphertext with the cloud's own SDK, straight at the endpoint the connection talks
   * to: the proof that a caller can do without the gateway. Absent for backends without a public API.
   */
  openNative?: (req: { versionRef: string; spec: KeySpec; ciphertext: Buffer; context: Record<string, string> }) => Promise<Buffer>;
}

export function conformance(h: Harness): void {
  let gw: TestGateway;
  let caps: Capabilities;
  let wraps = false, exports = false, imports = false, native = false;
  beforeAll(async () => {
    gw = await startGateway({ config: h.config });
    const provider = gw.runtime.connections.get(h.connection).provider;
    caps = provider.capabilities;
    [wraps, exports, imports, native] = [isKeyWrapper(provider), isExporter(provider), isImporter(provider), isNativeCipher(provider)];
  });
  afterAll(async () => { await gw?.close(); });

  const relaxed = (scenario: string) => exceptions.find((e) => e.provider === h.provider && (e.emulator === undefined || e.emulator === h.emulator) && e.scenario === scenario);
  const create = async (spec: KeySpec, usage: string, extra: Record<string, unknown> = {}) => {
    const res = await gw.call('POST', '/v1/keys', { spec, usage, connection: h.connection, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; bindings: { provider: string; ref: string }[] };
  };
  const encrypt = async (id: string, text: string, context?: Record<string, string>) =>
    (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64(text), context })).body.ciphertext as string;
  const decrypt = (ciphertext: string, context?: Record<string, string>) => gw.call('POST', '/v1/decrypt', { ciphertext, context });
  const encryptionSpecs = () => caps.specs.filter((s) => specInfo[s].usages.includes('ENCRYPT_DECRYPT'));

  describe(`conformance: ${h.provider} (${h.connection})`, () => {
    it('keys live on the connection under test, with the provider\'s key URI', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      expect(k.bindings[0]!.provider).toBe(h.provider);
      expect(k.bindings[0]!.ref.startsWith(`${h.provider}:`)).toBe(true);
    });

    it('every encryption spec round-trips, and two encryptions of one plaintext differ', async () => {
      for (const spec of encryptionSpecs()) {
        const k = await create(spec, 'ENCRYPT_DECRYPT');
        const [a, b] = [await encrypt(k.id, 'round trip', { c: '1' }), await encrypt(k.id, 'round trip', { c: '1' })];
        expect(a).not.toBe(b);
        for (const ct of [a, b]) expect((await decrypt(ct, { c: '1' })).body.plaintext, spec).toBe(b64('round trip'));
      }
    });

    it('two keys do not open each other\'s envelopes', async () => {
      const [k1, k2] = [await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT'), await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT')];
      const ct = Buffer.from(await encrypt(k1.id, 'mine'), 'base64');
      Buffer.from(k2.id).copy(ct, 3);
      expect((await decrypt(b64(ct))).status).toBe(400);
    });

    it('a tampered wrapped key, a tampered body and a wrong context all fail with 400', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      const ct = Buffer.from(await encrypt(k.id, 'tamper me', { t: '1' }), 'base64');
      // The last byte of the first wrapped DEK (its authentication tag, whatever the provider) and a body byte.
      const wrapLengthAt = 3 + k.id.length + 4 + 32 + 32 + 12 + 1 + 1 + ct[3 + k.id.length + 4 + 32 + 32 + 12 + 1]!;
      const wrapEnd = wrapLengthAt + 2 + ct.readUInt16BE(wrapLengthAt);
      for (const at of [wrapEnd - 1, ct.length - 20]) {
        const bad = Buffer.from(ct);
        bad[at]! ^= 1;
        const res = await decrypt(b64(bad), { t: '1' });
        expect(res.status, `byte ${at}: ${JSON.stringify(res.body)}`).toBe(400);
      }
      expect((await decrypt(b64(ct), { t: '2' })).status).toBe(400);
    });

    it('an unknown key is 404', async () => {
      expect((await gw.call('POST', '/v1/keys/key_01jd0000000000000000000000/encrypt', { plaintext: b64('x') })).status).toBe(404);
    });

    it('a suspended key refuses to encrypt (409) but still decrypts', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      const ct = await encrypt(k.id, 'before');
      await gw.call('POST', `/v1/keys/${k.id}/suspend`);
      expect((await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x') })).status).toBe(409);
      expect((await decrypt(ct)).status).toBe(200);
    });

    it('after rotation, new envelopes use the new version and old ones still decrypt', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      const old = await encrypt(k.id, 'old');
      expect((await gw.call('POST', `/v1/keys/${k.id}/rotate`)).body.currentVersion).toBe(2);
      expect((await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('new') })).body.version).toBe(2);
      expect((await decrypt(old)).body).toMatchObject({ plaintext: b64('old'), version: 1 });
    });

    it('native ciphertext round-trips for every encryption spec, opens with the cloud\'s own API, and refuses a wrong context, version or byte with 400', async ({ skip }) => {
      if (!native) return skip('the provider has no NativeCipher capability');
      for (const spec of encryptionSpecs()) {
        const rsa = specInfo[spec].family === 'rsa';
        const context: Record<string, string> = rsa ? {} : { tenant: 'acme' };
        const k = await create(spec, 'ENCRYPT_DECRYPT');
        const enc = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('native'), context, format: 'native' });
        expect(enc.status, `${spec}: ${JSON.stringify(enc.body)}`).toBe(200);
        expect(enc.body).toMatchObject({ keyId: k.id, version: 1, format: 'native', connection: h.connection });
        const open = (body: Record<string, unknown>) => gw.call('POST', '/v1/decrypt', { ciphertext: enc.body.ciphertext, context, format: 'native', key: k.id, version: 1, ...body });
        expect((await open({})).body, spec).toMatchObject({ plaintext: b64('native'), keyId: k.id, version: 1 });
        expect((await open({ connection: h.connection })).body.plaintext, spec).toBe(b64('native'));
        if (h.openNative) {
          const [graph] = await loadKeyGraphs(gw.database.db, [k.id]);
          const versionRef = graph!.bindings[0]!.versions.get(1)!;
          expect((await h.openNative({ versionRef, spec, ciphertext: Buffer.from(enc.body.ciphertext, 'base64'), context })).toString(), spec).toBe('native');
        }
        const bad = Buffer.from(enc.body.ciphertext, 'base64');
        bad[bad.length - 1]! ^= 1;
        expect((await open({ ciphertext: b64(bad) })).status, spec).toBe(400);
        if (!rsa) expect((await open({ context: { tenant: 'other' } })).body, spec).toMatchObject({ status: 400, field: 'ciphertext' });
        else expect((await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x'), context: { a: 'b' }, format: 'native' })).body, spec).toMatchObject({ status: 400, field: 'context' });
        expect((await open({ version: 2 })).status, spec).toBe(404);
      }
      // The old version's native ciphertext opens after rotation, named by its version.
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      const old = (await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('old'), format: 'native' })).body;
      await gw.call('POST', `/v1/keys/${k.id}/rotate`);
      expect((await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('new'), format: 'native' })).body.version).toBe(2);
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: old.ciphertext, format: 'native', key: k.id, version: 1 })).body.plaintext).toBe(b64('old'));
    });

    it('every signing spec and algorithm signs what node:crypto verifies, and verifies its own signatures', async () => {
      for (const spec of caps.specs.filter((s) => specInfo[s].usages.includes('SIGN_VERIFY') && caps.usages.includes('SIGN_VERIFY'))) {
        // A backend that fixes the algorithm per key gets a key per algorithm; the others sign with all on one.
        const shared = caps.signing === 'any' ? await create(spec, 'SIGN_VERIFY') : undefined;
        for (const algorithm of specInfo[spec].signing.filter((a) => caps.signingAlgorithms.includes(a))) {
          const k = shared ?? await create(spec, 'SIGN_VERIFY', { signingAlgorithm: algorithm });
          const pem = (await gw.call('GET', `/v1/keys/${k.id}/public-key`)).body.publicKey;
          const message = Buffer.from(`signed by ${spec}`);
          const res = await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64(message), algorithm });
          expect(res.status, `${spec} ${algorithm}: ${JSON.stringify(res.body)}`).toBe(200);
          const sig = Buffer.from(res.body.signature, 'base64');
          expect(nodeVerifies(pem, algorithm, message, sig, relaxed('pss-salt-length') !== undefined), `${spec} ${algorithm}`).toBe(true);
          const v = await gw.call('POST', `/v1/keys/${k.id}/verify`, { message: b64(message), algorithm, signature: res.body.signature });
          expect(v.body.valid).toBe(true);
          const wrong = await gw.call('POST', `/v1/keys/${k.id}/verify`, { message: b64('other'), algorithm, signature: res.body.signature });
          expect(wrong.body.valid).toBe(false);
        }
      }
    });

    it('a key pinned to one signing algorithm signs with it and refuses another with 400', async ({ skip }) => {
      if (!caps.specs.includes('RSA_2048') || !caps.signingAlgorithms.includes('RSASSA_PKCS1_V1_5_SHA_256')) return skip('the provider has no RSA PKCS#1 signing');
      const k = await create('RSA_2048', 'SIGN_VERIFY', { signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
      expect((k as unknown as { signingAlgorithm: string }).signingAlgorithm).toBe('RSASSA_PKCS1_V1_5_SHA_256');
      expect((await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64('m'), algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })).status).toBe(200);
      const other = await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64('m'), algorithm: 'RSASSA_PSS_SHA_256' });
      expect(other.status).toBe(400);
      expect(other.body).toMatchObject({ field: 'algorithm', detail: expect.stringContaining('signs with RSASSA_PKCS1_V1_5_SHA_256 only') });
      await gw.call('POST', `/v1/keys/${k.id}/rotate`);
      expect((await gw.call('POST', `/v1/keys/${k.id}/sign`, { message: b64('m'), algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })).body.version).toBe(2);
    });

    it('every MAC spec computes a MAC that verifies, and rejects a changed message', async () => {
      for (const spec of caps.specs.filter((s) => specInfo[s].usages.includes('MAC') && caps.usages.includes('MAC'))) {
        const k = await create(spec, 'MAC');
        const mac = (await gw.call('POST', `/v1/keys/${k.id}/mac`, { message: b64('m') })).body.mac;
        expect((await gw.call('POST', `/v1/keys/${k.id}/verify-mac`, { message: b64('m'), mac })).body.valid).toBe(true);
        expect((await gw.call('POST', `/v1/keys/${k.id}/verify-mac`, { message: b64('n'), mac })).body.valid).toBe(false);
      }
    });

    it('deletion is scheduled and cancelled at the provider too: the key works again once reactivated', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      await gw.call('POST', `/v1/keys/${k.id}/rotate`);
      expect((await gw.call('POST', `/v1/keys/${k.id}/schedule-deletion`, { pendingDays: 7 })).body.state).toBe('PENDING_DELETION');
      expect((await gw.call('POST', `/v1/keys/${k.id}/cancel-deletion`)).body.state).toBe('SUSPENDED');
      await gw.call('POST', `/v1/keys/${k.id}/reactivate`);
      expect((await decrypt(await encrypt(k.id, 'alive'))).body.plaintext).toBe(b64('alive'));
    });

    it('wrapped key material unwraps to itself, and a tampered wrap is refused with 400', async ({ skip }) => {
      if (!wraps) return skip('the provider has no KeyWrapper capability');
      for (const [spec, algorithm] of [['AES_256', 'AES_KEY_WRAP_PAD'], ['RSA_2048', 'RSAES_OAEP_SHA_1'], ['RSA_2048', 'RSAES_OAEP_SHA_256']] as const) {
        const k = await create(spec, 'WRAP_UNWRAP');
        const res = await gw.call('POST', `/v1/keys/${k.id}/wrap`, { key: b64('a data key of exactly 32 bytes..'), algorithm });
        if (res.status === 501 && relaxed(`wrap-${algorithm}`)) continue;
        expect(res.status, `${algorithm}: ${JSON.stringify(res.body)}`).toBe(200);
        const back = await gw.call('POST', `/v1/keys/${k.id}/unwrap`, { wrappedKey: res.body.wrappedKey, algorithm });
        expect(back.body.key, algorithm).toBe(b64('a data key of exactly 32 bytes..'));
        const bad = Buffer.from(res.body.wrappedKey, 'base64');
        bad[bad.length - 1]! ^= 1;
        expect((await gw.call('POST', `/v1/keys/${k.id}/unwrap`, { wrappedKey: b64(bad), algorithm })).status, algorithm).toBe(400);
      }
    });

    it('RFC 5649 wrapping takes any length: 7 bytes round-trip', async ({ skip }) => {
      if (!wraps) return skip('the provider has no KeyWrapper capability');
      const k = await create('AES_256', 'WRAP_UNWRAP');
      const res = await gw.call('POST', `/v1/keys/${k.id}/wrap`, { key: b64('seven b') });
      if (res.status === 501 && relaxed('kwp-unaligned')) return;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Buffer.from(res.body.wrappedKey, 'base64')).toHaveLength(16);
      expect((await gw.call('POST', `/v1/keys/${k.id}/unwrap`, { wrappedKey: res.body.wrappedKey })).body.key).toBe(b64('seven b'));
    });

    it('a key created non-exportable is never exported, by any scheme (409), and no view shows material', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT');
      expect((k as unknown as { attributes: unknown }).attributes).toMatchObject({ extractable: false, neverExtractable: true });
      for (const scheme of exportSchemes) {
        const res = await gw.call('POST', `/v1/keys/${k.id}/export`, { scheme, wrappingKey: importer.publicPem });
        expect(res.status, scheme).toBe(409);
        expect(res.body.detail).toMatch(/is not exportable/);
      }
      const views = [await gw.call('GET', `/v1/keys/${k.id}`), await gw.call('GET', `/v1/keys/${k.id}/versions`), await gw.call('GET', `/v1/keys?limit=100`)];
      for (const v of views) expect(JSON.stringify(v.body)).not.toMatch(/"(key)?material"|"value"|privateKey|wrappedKey/i);
    });

    it('an exportable key exports, in every scheme the clouds import, the very material the gateway uses', async ({ skip }) => {
      if (!exports) return skip('the provider has no Exporter capability');
      const secret = Buffer.from('thirty-two bytes of a caller key');
      for (const scheme of exportSchemes) {
        const aes = await create('AES_256', 'WRAP_UNWRAP', { exportable: true });
        const res = await gw.call('POST', `/v1/keys/${aes.id}/export`, { scheme, wrappingKey: importer.publicPem });
        if (res.status === 501 && relaxed(`export-${scheme}`)) continue;
        expect(res.status, `${scheme}: ${JSON.stringify(res.body)}`).toBe(200);
        expect(res.body).toMatchObject({ scheme, format: 'RAW', version: 1 });
        const kek = unwrapExport(scheme, Buffer.from(res.body.wrappedKey, 'base64'));
        // The exported key opens what the gateway wrapped with the key: it is the same key.
        const wrapped = (await gw.call('POST', `/v1/keys/${aes.id}/wrap`, { key: b64(secret) })).body.wrappedKey;
        expect(kwpUnwrap(kek, Buffer.from(wrapped, 'base64')), scheme).toEqual(secret);
      }
      const hmac = await create('HMAC_256', 'MAC', { exportable: true });
      const raw = unwrapExport('RSA_AES_KEY_WRAP_SHA_1', Buffer.from((await gw.call('POST', `/v1/keys/${hmac.id}/export`, { scheme: 'RSA_AES_KEY_WRAP_SHA_1', wrappingKey: importer.publicDerB64 })).body.wrappedKey, 'base64'));
      expect((await gw.call('POST', `/v1/keys/${hmac.id}/mac`, { message: b64('m') })).body.mac).toBe(createHmac('sha256', raw).update('m').digest('base64'));
      for (const spec of ['RSA_2048', 'EC_P256'] as const) {
        const pair = await create(spec, 'SIGN_VERIFY', { exportable: true });
        expect((await gw.call('POST', `/v1/keys/${pair.id}/export`, { scheme: 'RSAES_OAEP_SHA_1', wrappingKey: importer.publicPem })).status, spec).toBe(400);
        const res = await gw.call('POST', `/v1/keys/${pair.id}/export`, { scheme: 'RSA_AES_KEY_WRAP_SHA_1', wrappingKey: importer.publicPem });
        expect(res.body.format, JSON.stringify(res.body)).toBe('PKCS8');
        const privateKey = createPrivateKey({ key: unwrapExport('RSA_AES_KEY_WRAP_SHA_1', Buffer.from(res.body.wrappedKey, 'base64')), format: 'der', type: 'pkcs8' });
        const gatewayPem = (await gw.call('GET', `/v1/keys/${pair.id}/public-key`)).body.publicKey;
        expect(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }), spec).toBe(gatewayPem);
      }
    });

    it('material made elsewhere comes in through the provider\'s own import scheme: a same-material replica holds each version\'s material and serves when the holder fails', async ({ skip }) => {
      if (!imports) return skip('the provider has no Importer capability');
      const excepted = relaxed('import');
      if (excepted) return skip(excepted.reason);
      const from = h.source ?? 'local';
      const [source, replica] = [gw.runtime.connections.get(from).provider, gw.runtime.connections.get(h.connection).provider];
      for (const usage of (['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'MAC'] as const).filter((u) => caps.usages.includes(u))) {
        for (const spec of firstOfEachFamily(caps, usage)) {
          const algorithm = usage === 'SIGN_VERIFY' ? specInfo[spec].signing.find((a) => caps.signingAlgorithms.includes(a)) : undefined;
          const res = await gw.call('POST', '/v1/keys', { spec, usage, exportable: true, connection: from, replicas: [h.connection], signingAlgorithm: algorithm });
          if (res.status === 501 && relaxed(`import-${spec}`)) continue;
          expect(res.status, `${spec}: ${JSON.stringify(res.body)}`).toBe(201);
          const id = res.body.id as string;
          expect(res.body.bindings[1], spec).toMatchObject({ connection: h.connection, role: 'replica', sameMaterial: true });
          expect((await gw.call('POST', `/v1/keys/${id}/rotate`)).status, spec).toBe(200);
          expect((await gw.call('GET', `/v1/keys/${id}`)).body.bindings.map((b: { syncStatus: string }) => b.syncStatus), spec).toEqual(['in_sync', 'in_sync']);
          // Each version's material, asked of both backends: the same public key, the same MAC.
          const [graph] = await loadKeyGraphs(gw.database.db, [id]);
          const at = (connection: string, version: number) => {
            const b = graph!.bindings.find((x) => x.connection === connection)!;
            return { ...heldVersion(b, version)!, spec };
          };
          for (const version of [1, 2]) {
            const [mine, theirs] = [at(from, version), at(h.connection, version)];
            if (usage === 'MAC') {
              const mac = (p: KeyProvider, r: typeof mine) => withCapability(p, isMacer, 'MAC').mac({ ...r, message: Buffer.from('same key') });
              expect(Buffer.from(await mac(replica, theirs)), `${spec} v${version}`).toEqual(Buffer.from(await mac(source, mine)));
            } else if (specInfo[spec].family !== 'aes') {
              const publicKey = (p: KeyProvider, r: typeof mine) => withCapability(p, isSigner, 'give a public key').getPublicKey(r);
              expect(Buffer.from(await publicKey(replica, theirs)), `${spec} v${version}`).toEqual(Buffer.from(await publicKey(source, mine)));
            }
          }
          // The holder fails: the replica serves the key.
          const sealed = usage === 'ENCRYPT_DECRYPT' ? await encrypt(id, 'imported') : undefined;
          const mac = usage === 'MAC' ? (await gw.call('POST', `/v1/keys/${id}/mac`, { message: b64('m') })).body.mac : undefined;
          const restore = outage(source, ['decrypt', 'sign', 'mac']);
          try {
            if (sealed) expect((await decrypt(sealed)).body.plaintext, spec).toBe(b64('imported'));
            if (mac) expect((await gw.call('POST', `/v1/keys/${id}/mac`, { message: b64('m') })).body.mac, spec).toBe(mac);
            if (algorithm) {
              const signed = await gw.call('POST', `/v1/keys/${id}/sign`, { message: b64('m'), algorithm });
              expect(signed.status, `${spec}: ${JSON.stringify(signed.body)}`).toBe(200);
              const pem = (await gw.call('GET', `/v1/keys/${id}/public-key`)).body.publicKey;
              expect(nodeVerifies(pem, algorithm, Buffer.from('m'), Buffer.from(signed.body.signature, 'base64'), relaxed('pss-salt-length') !== undefined), spec).toBe(true);
            }
          } finally {
            restore();
          }
        }
      }
    });

    it('tags are kept and filterable', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT', { tags: { suite: `conformance-${h.provider}` } });
      const found = (await gw.call('GET', `/v1/keys?tag=suite:conformance-${h.provider}`)).body.keys.map((x: { id: string }) => x.id);
      expect(found).toContain(k.id);
    });
  });
}

/** The first spec of each key family the provider holds for `usage`. */
function firstOfEachFamily(caps: Capabilities, usage: string): KeySpec[] {
  const specs = caps.specs.filter((s) => specInfo[s].usages.includes(usage as never));
  return specs.filter((s, i) => specs.findIndex((t) => specInfo[t].family === specInfo[s].family) === i);
}

/** The importer's side of an export: a cloud's wrapping key pair, here in node:crypto. */
const importer = (() => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), publicDerB64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
})();

function unwrapExport(scheme: string, wrapped: Buffer): Buffer {
  const { hash, withAes } = schemeParts(scheme);
  return withAes ? rsaAesUnwrap(importer.privateKey, hash, wrapped) : oaepUnwrap(importer.privateKey, hash, wrapped);
}

function nodeVerifies(pem: string, algorithm: SigningAlgorithm, message: Buffer, signature: Buffer, anySalt: boolean): boolean {
  const key = createPublicKey(pem);
  if (algorithm === 'ED25519') return nodeVerify(null, message, key, signature);
  const { hash, bytes } = signingHash(algorithm)!;
  const saltLength = anySalt ? constants.RSA_PSS_SALTLEN_AUTO : bytes;
  if (algorithm.startsWith('RSASSA_PSS')) return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
  return nodeVerify(hash, message, key, signature);
}
