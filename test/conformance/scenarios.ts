// The conformance suite (STYLE rule 6): the same scenarios, through the gateway's API, for every
// provider. A provider's test file is a harness plus one call to `conformance`. What a provider
// cannot do it declares in its capabilities; the scenarios follow them, and anything relaxed
// beyond that is listed with its reason in exceptions.ts.
import { createPublicKey, verify as nodeVerify, constants } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingHash, specInfo, type KeySpec, type SigningAlgorithm } from '../../src/keys/specs.ts';
import { b64, startGateway, type TestGateway } from '../support/gateway.ts';
import { exceptions } from './exceptions.ts';

export interface Harness {
  /** The provider kind, as in exceptions.ts. */
  provider: string;
  /** The gateway's configuration with the connection under test. */
  config: Record<string, unknown>;
  connection: string;
}

export function conformance(h: Harness): void {
  let gw: TestGateway;
  let caps: { specs: readonly KeySpec[]; usages: readonly string[] };
  beforeAll(async () => {
    gw = await startGateway({ config: h.config });
    caps = gw.runtime.connections.get(h.connection).provider.capabilities;
  });
  afterAll(async () => { await gw?.close(); });

  const relaxed = (scenario: string) => exceptions.find((e) => e.provider === h.provider && e.scenario === scenario);
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

    it('every signing spec and algorithm signs what node:crypto verifies, and verifies its own signatures', async () => {
      for (const spec of caps.specs.filter((s) => specInfo[s].usages.includes('SIGN_VERIFY') && caps.usages.includes('SIGN_VERIFY'))) {
        const k = await create(spec, 'SIGN_VERIFY');
        const pem = (await gw.call('GET', `/v1/keys/${k.id}/public-key`)).body.publicKey;
        for (const algorithm of specInfo[spec].signing) {
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

    it('tags are kept and filterable', async () => {
      const k = await create(encryptionSpecs()[0]!, 'ENCRYPT_DECRYPT', { tags: { suite: `conformance-${h.provider}` } });
      const found = (await gw.call('GET', `/v1/keys?tag=suite:conformance-${h.provider}`)).body.keys.map((x: { id: string }) => x.id);
      expect(found).toContain(k.id);
    });
  });
}

function nodeVerifies(pem: string, algorithm: SigningAlgorithm, message: Buffer, signature: Buffer, anySalt: boolean): boolean {
  const key = createPublicKey(pem);
  if (algorithm === 'ED25519') return nodeVerify(null, message, key, signature);
  const { hash, bytes } = signingHash(algorithm)!;
  const saltLength = anySalt ? constants.RSA_PSS_SALTLEN_AUTO : bytes;
  if (algorithm.startsWith('RSASSA_PSS')) return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
  return nodeVerify(hash, message, key, signature);
}
