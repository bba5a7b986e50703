// The pkcs11 provider on a real SoftHSM2 token, beyond the conformance scenarios: many requests at
// once on a small session pool, recovery from lost sessions and a lost module, what the token
// says about a key's exportability, and the PIN kept out of errors.
import { createDecipheriv, createHash, createHmac, generateKeyPairSync, randomBytes, randomUUID, verify as nodeVerify, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { wrapForImporter } from '../../src/crypto/keywrap.ts';
import { holder } from '../support/import.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11Provider } from '../../providers/pkcs11/index.ts';
import { parseUri } from '../../providers/pkcs11/uri.ts';
import { sweepOnce } from '../../src/jobs/lifecycle-sweep.ts';
import { newLogger } from '../../src/log.ts';
import { b64, startGateway, type TestGateway } from '../support/gateway.ts';
import { labelled, sameModule, softhsmConnection } from '../support/softhsm.ts';

describe('pkcs11 provider on SoftHSM2', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ config: { connections: [softhsmConnection('hsm', { sessions: 4 })] } });
  });
  afterAll(async () => { await gw?.close(); });

  const newKey = async (extra: Record<string, unknown> = {}) => {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const encrypt = (id: string, text: string) => gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64(text) });

  it('50 concurrent encrypt requests on 4 sessions all succeed, and each decrypts to its own plaintext', async () => {
    const k = await newKey();
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => encrypt(k.id, `message ${i}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    const plain = await Promise.all(replies.map((r) => gw.call('POST', '/v1/decrypt', { ciphertext: r.body.ciphertext })));
    expect(plain.map((r) => Buffer.from(r.body.plaintext, 'base64').toString())).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i}`));
  });

  it('sessions closed under the gateway are re-opened and logged in again by the next request', async () => {
    const k = await newKey();
    const before = (await encrypt(k.id, 'before')).body.ciphertext;
    const { lib, slot } = sameModule();
    lib.C_CloseAllSessions(slot);
    const after = await encrypt(k.id, 'after');
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: before })).body.plaintext).toBe(b64('before'));
  });

  it('a module finalized under the gateway is initialised again: no restart needed', async () => {
    const k = await newKey();
    const { lib } = sameModule();
    lib.C_Finalize();
    const res = await encrypt(k.id, 'still here');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: res.body.ciphertext })).body.plaintext).toBe(b64('still here'));
  });

  it('exportability attributes are the token\'s own: never-extractable unless created exportable, sensitive always', async () => {
    expect((await newKey()).attributes).toEqual({ extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true });
    expect((await newKey({ exportable: true })).attributes).toEqual({ extractable: true, neverExtractable: false, sensitive: true, alwaysSensitive: true });
  });

  it('at the end of the deletion window every version\'s objects leave the token; the key\'s metadata stays', async () => {
    const k = await newKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY' });
    await gw.call('POST', `/v1/keys/${k.id}/rotate`);
    // Two versions, a private and a public key each.
    expect(labelled(k.id)).toHaveLength(4);
    await gw.call('POST', `/v1/keys/${k.id}/schedule-deletion`, { pendingDays: 7 });
    await sweepOnce(gw.database.db, gw.runtime.services.keys, newLogger('silent'), new Date(Date.now() + 7 * 86_400_000 + 60_000));
    expect((await gw.call('GET', `/v1/keys/${k.id}`)).body).toMatchObject({ id: k.id, state: 'DESTROYED' });
    await gw.synced(k.id);
    expect(labelled(k.id)).toEqual([]);
  });

  it('a wrong PIN is a 401-class error that does not show the PIN', async () => {
    // Login is per process and token in PKCS#11: log the gateway out, or the wrong PIN is never asked for.
    const { lib, slot } = sameModule();
    lib.C_CloseAllSessions(slot);
    const provider = new Pkcs11Provider({ module: process.env.KMSGW_PKCS11_MODULE!, token: process.env.KMSGW_PKCS11_TOKEN!, sessions: 1, pin: () => 'wrong-pin-000' });
    const err = await provider.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_pin' }).catch((e: unknown) => e);
    expect(provider.errorCode(err)).toBe('UNAUTHENTICATED');
    expect(String((err as Error).message)).not.toContain('wrong-pin-000');
    await provider.close();
  });

  describe('import', () => {
    const token = () => gw.runtime.connections.get('hsm').provider as Pkcs11Provider;
    const material = {
      AES_256: () => ({ wrapped: randomBytes(32) }),
      HMAC_384: () => ({ wrapped: randomBytes(48) }),
      RSA_3072: () => pair(generateKeyPairSync('rsa', { modulusLength: 3072 })),
      EC_P384: () => pair(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
      EC_SECP256K1: () => pair(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })),
    };
    function pair(kp: { publicKey: KeyObject; privateKey: KeyObject }) {
      return { wrapped: kp.privateKey.export({ type: 'pkcs8', format: 'der' }), publicKey: kp.publicKey.export({ type: 'spki', format: 'der' }), kp };
    }
    const usageOf = (spec: string) => (spec.startsWith('HMAC') ? 'MAC' : spec === 'AES_256' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY');

    it('material wrapped for the token\'s import key comes in as a key of its spec that the token uses: the same AES key, HMAC key and key pairs', async () => {
      // An import is not retried: a call that is re-opens the sessions the PIN test closed under the gateway.
      await gw.runtime.connections.get('hsm').call('discoverKeys', () => token().discoverKeys({ pageSize: 1, pace: async () => {} }));
      for (const [spec, make] of Object.entries(material)) {
        const m = make() as { wrapped: Buffer; publicKey?: Buffer; kp?: { publicKey: KeyObject } };
        const offered: string[] = [];
        const created = await token().importKey({
          spec: spec as 'AES_256', usage: usageOf(spec) as 'ENCRYPT_DECRYPT', exportable: false, keyId: `key_import_${spec}`, wrap: holder(m.wrapped, { offered }), publicKey: m.publicKey,
        });
        // SoftHSM2 has no SHA-256 OAEP: the token offers the scheme it takes.
        expect(offered).toEqual(['RSA_AES_KEY_WRAP_SHA_1']);
        expect(created.attributes, spec).toMatchObject({ extractable: false, neverExtractable: false, sensitive: true });
        const r = { ref: created.ref, versionRef: created.versionRef, spec: spec as 'AES_256' };
        if (spec === 'AES_256') {
          const ct = Buffer.from(await token().encrypt({ ...r, plaintext: Buffer.from('imported'), aad: Buffer.alloc(0) }));
          const d = createDecipheriv('aes-256-gcm', m.wrapped, ct.subarray(0, 12));
          d.setAuthTag(ct.subarray(-16));
          expect(d.update(ct.subarray(12, -16)).toString()).toBe('imported');
        } else if (spec === 'HMAC_384') {
          expect(Buffer.from(await token().mac({ ...r, message: Buffer.from('m') }))).toEqual(createHmac('sha384', m.wrapped).update('m').digest());
        } else {
          const digest = createHash(spec === 'EC_P384' ? 'sha384' : 'sha256').update('signed').digest();
          const algorithm = spec === 'RSA_3072' ? 'RSASSA_PKCS1_V1_5_SHA_256' : spec === 'EC_P384' ? 'ECDSA_SHA_384' : 'ECDSA_SHA_256';
          const signature = await token().sign({ ...r, algorithm, digest });
          expect(nodeVerify(spec === 'EC_P384' ? 'sha384' : 'sha256', Buffer.from('signed'), m.kp!.publicKey, Buffer.from(signature)), spec).toBe(true);
          expect(Buffer.from(await token().getPublicKey(r))).toEqual(m.publicKey);
        }
      }
    });

    it('an import cut short between the private and the public object (the gateway died) is removed by findCreated, and the retry under the same operation makes it whole', async () => {
      const m = pair(generateKeyPairSync('ec', { namedCurve: 'P-384' }));
      // Its own label: the suite's two projects share the token.
      const keyId = `key_import_cut_${randomUUID()}`;
      const req = { spec: 'EC_P384' as const, usage: 'SIGN_VERIFY' as const, exportable: false, keyId, publicKey: m.publicKey, operation: randomUUID() };
      const created = await token().importKey({ ...req, wrap: holder(m.wrapped) });
      expect(await token().findCreated(req)).toEqual({ ref: created.ref, versionRef: created.versionRef });
      const objects = () => labelled(keyId);
      const { id } = parseUri(created.versionRef, true);
      const { lib, slot } = sameModule();
      const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_ID, value: id }, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }]);
      const [publicHalf] = lib.C_FindObjects(s, 1);
      lib.C_FindObjectsFinal(s);
      lib.C_DestroyObject(s, publicHalf!);
      lib.C_CloseSession(s);
      expect(objects()).toHaveLength(1);

      expect(await token().findCreated(req)).toBeUndefined();
      expect(objects()).toEqual([]);
      const again = await token().importKey({ ...req, wrap: holder(m.wrapped) });
      expect(again.versionRef).toBe(created.versionRef);
      expect(await token().findCreated(req)).toEqual({ ref: created.ref, versionRef: created.versionRef });
      expect(objects()).toHaveLength(2);
      const digest = createHash('sha384').update('signed').digest();
      const signature = await token().sign({ ref: again.ref, versionRef: again.versionRef, spec: 'EC_P384', algorithm: 'ECDSA_SHA_384', digest });
      expect(nodeVerify('sha384', Buffer.from('signed'), m.kp.publicKey, Buffer.from(signature))).toBe(true);
    });

    it('refuses a tampered wrap, an RSA key that is not the public key\'s, a key pair without its public key, and a holder that cannot wrap, leaving nothing on the token', async () => {
      const base = { usage: 'ENCRYPT_DECRYPT' as const, exportable: false, keyId: 'key_import_bad' };
      const tampered = async (t: { scheme: string; wrappingKey: Uint8Array }) => {
        const w = wrapForImporter(t.wrappingKey, t.scheme, randomBytes(32));
        w[w.length - 1]! ^= 1;
        return w;
      };
      await expect(token().importKey({ ...base, spec: 'AES_256', wrap: tampered })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const a = pair(generateKeyPairSync('rsa', { modulusLength: 2048 }));
      const b = pair(generateKeyPairSync('rsa', { modulusLength: 2048 }));
      await expect(token().importKey({ ...base, usage: 'SIGN_VERIFY', spec: 'RSA_2048', wrap: holder(a.wrapped), publicKey: b.publicKey }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('not the RSA_2048 key of the public key given') });
      await expect(token().importKey({ ...base, usage: 'SIGN_VERIFY', spec: 'RSA_2048', wrap: holder(a.wrapped) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // A holder without the token's one scheme: its refusal is the answer.
      await expect(token().importKey({ ...base, spec: 'AES_256', wrap: holder(randomBytes(32), { can: () => false }) })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
      expect(labelled('key_import_bad')).toEqual([]);
    });
  });
});

