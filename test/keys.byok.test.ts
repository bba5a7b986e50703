// Bring your own key: the caller wraps its own material for a gateway RSA key's public key, as it
// would for a cloud's import (callerWrap), and the key is made of it on the connection it names. Each check uses
// the caller's material directly, so the key can only pass by holding it.
import { createDecipheriv, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyPairSync } from '../src/crypto/keypair.ts';
import { sweepOnce } from '../src/jobs/lifecycle-sweep.ts';
import { newLogger } from '../src/log.ts';
import { awsKmsFixture } from './fixtures/aws-kms.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { softhsmConnection } from './support/softhsm.ts';
import { callerWrap } from './support/import.ts';
import { outage } from './support/outage.ts';

const awsEndpoint = 'https://kms.eu-north-1.amazonaws.com';
const aws = awsKmsFixture(awsEndpoint, 'eu-north-1');
const server = setupServer(aws.handler);
Object.assign(process.env, { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' });

let gw: TestGateway;
let wrappingKey: string;
let pem: string;
beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'bypass' });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' }, softhsmConnection('hsm'), { name: 'aws', provider: 'aws', region: 'eu-north-1', endpoint: awsEndpoint },
  ] } });
  wrappingKey = (await gw.call('POST', '/v1/keys', { spec: 'RSA_3072', usage: 'WRAP_UNWRAP', aliases: ['byok'] })).body.id;
  pem = (await gw.call('GET', `/v1/keys/${wrappingKey}/public-key`)).body.publicKey;
});
afterAll(async () => {
  await gw?.close();
  server.close();
});

const wrap = (material: Buffer, hash: 'sha1' | 'sha256' = 'sha256') => b64(callerWrap(pem, material, hash));

const keyCount = async () => (await gw.call('GET', '/v1/keys?limit=1000')).body.keys.length as number;

describe('bring your own key', () => {
  it('an AES key made of the caller\'s material: its native ciphertext opens with that material', async () => {
    const material = randomBytes(32);
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', material: { wrappedKey: wrap(material), wrappingKey: 'alias/byok' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ origin: 'IMPORTED', attributes: { extractable: false, neverExtractable: false, alwaysSensitive: false } });
    const ct = Buffer.from((await gw.call('POST', `/v1/keys/${res.body.id}/encrypt`, { plaintext: b64('mine'), format: 'native' })).body.ciphertext, 'base64');
    const d = createDecipheriv('aes-256-gcm', material, ct.subarray(0, 12)).setAuthTag(ct.subarray(ct.length - 16));
    expect(Buffer.concat([d.update(ct.subarray(12, ct.length - 16)), d.final()]).toString()).toBe('mine');
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${res.body.id}&limit=10`)).body.events;
    expect(events[0]).toMatchObject({ action: 'createKey', detail: { wrappingKey } });
  });

  it('an HMAC key in AWS, imported through AWS\'s own scheme, MACs as the caller\'s material does', async () => {
    const material = randomBytes(32);
    const res = await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC', connection: 'aws', material: { wrappedKey: wrap(material, 'sha1'), wrappingKey, scheme: 'RSA_AES_KEY_WRAP_SHA_1' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect([...aws.keys.values()].at(-1)).toMatchObject({ origin: 'EXTERNAL', state: 'Enabled' });
    const mac = (await gw.call('POST', `/v1/keys/${res.body.id}/mac`, { message: b64('m') })).body.mac;
    expect(mac).toBe(createHmac('sha256', material).update('m').digest('base64'));
  });

  it('an EC key pair in the HSM: its public key is the caller\'s, and its signatures verify under it', async () => {
    const pair = newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' });
    const res = await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'hsm', material: { wrappedKey: wrap(pair.pkcs8), wrappingKey } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const publicKey = (await gw.call('GET', `/v1/keys/${res.body.id}/public-key`)).body.publicKey;
    expect(createPublicKey(publicKey).export({ type: 'spki', format: 'der' })).toEqual(pair.spki);
    const sig = (await gw.call('POST', `/v1/keys/${res.body.id}/sign`, { message: b64('signed'), algorithm: 'ECDSA_SHA_256' })).body.signature;
    expect(verify('sha256', Buffer.from('signed'), createPublicKey({ key: pair.spki, format: 'der', type: 'spki' }), Buffer.from(sig, 'base64'))).toBe(true);
  });

  it('refuses, before any key is made, material of another spec, a tampered wrap, a wrapping key that is not RSA or one the caller may not use', async () => {
    const before = await keyCount();
    const create = (spec: string, material: Record<string, unknown>) => gw.call('POST', '/v1/keys', { spec, usage: spec.startsWith('HMAC') ? 'MAC' : 'ENCRYPT_DECRYPT', material: { wrappingKey, ...material } });
    expect((await create('HMAC_512', { wrappedKey: wrap(randomBytes(32)) })).body).toMatchObject({ status: 400, field: 'material', detail: expect.stringContaining('32 bytes, not 64') });
    const bad = Buffer.from(wrap(randomBytes(32)), 'base64');
    bad[bad.length - 1]! ^= 1;
    expect((await create('AES_256', { wrappedKey: b64(bad) })).body).toMatchObject({ status: 400, field: 'material.wrappedKey' });
    bad[0]! ^= 1;
    expect((await create('AES_256', { wrappedKey: b64(bad) })).body).toMatchObject({ status: 400, field: 'material.wrappedKey' });
    expect((await create('AES_256', { wrappedKey: wrap(randomBytes(32)), scheme: 'RSA_AES_KEY_WRAP_SHA_1' })).body).toMatchObject({ status: 400, field: 'material.wrappedKey' });
    const aes = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'WRAP_UNWRAP' })).body.id;
    expect((await create('AES_256', { wrappedKey: wrap(randomBytes(32)), wrappingKey: aes })).body).toMatchObject({ status: 400, field: 'material.wrappingKey' });
    expect((await create('AES_256', { wrappedKey: wrap(randomBytes(32)), scheme: 'RSAES_OAEP_SHA_256' })).body).toMatchObject({ status: 400, field: 'material.scheme' });
    // Separation of duties: an administrator makes keys but does not use them, so it may not open the wrap either.
    const admin = await gw.apiKey(['administrator']);
    const denied = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', material: { wrappingKey, wrappedKey: wrap(randomBytes(32)) } }, { authorization: `Bearer ${admin.secret}` });
    expect(denied.body).toMatchObject({ status: 403, code: 'PERMISSION_DENIED' });
    expect(await keyCount()).toBe(before + 1);
  });

  describe('rotation: a key of origin IMPORTED rotates only with new material of the caller\'s', () => {
    const rotate = (id: string, body?: unknown) => gw.call('POST', `/v1/keys/${id}/rotate`, body);
    const version = async (id: string) => (await gw.call('GET', `/v1/keys/${id}`)).body.currentVersion as number;

    it('an AES key takes its new version from the caller, and its same-material replica a copy; envelopes of the old one still open, and refusals change nothing', async () => {
      const [first, second] = [randomBytes(32), randomBytes(32)];
      const made = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', exportable: true, material: { wrappedKey: wrap(first), wrappingKey } });
      const id = made.body.id as string;
      expect((await gw.call('POST', `/v1/keys/${id}/replicas`, { connection: 'hsm' })).status).toBe(202);
      expect(await gw.synced(id)).toMatchObject({ status: 'SUCCEEDED' });
      const old = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('sealed under v1') })).body.ciphertext;

      expect((await rotate(id)).body).toMatchObject({ status: 409, code: 'FAILED_PRECONDITION', field: 'material', detail: expect.stringContaining('origin IMPORTED') });
      expect((await rotate(id, { material: { wrappedKey: wrap(randomBytes(16)), wrappingKey } })).body).toMatchObject({ status: 400, field: 'material', detail: expect.stringContaining('16 bytes, not 32') });
      expect(await version(id)).toBe(1);

      const res = await rotate(id, { material: { wrappedKey: wrap(second), wrappingKey } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ currentVersion: 2, origin: 'IMPORTED' });
      const ct = Buffer.from((await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('v2'), format: 'native' })).body.ciphertext, 'base64');
      const d = createDecipheriv('aes-256-gcm', second, ct.subarray(0, 12)).setAuthTag(ct.subarray(ct.length - 16));
      expect(Buffer.concat([d.update(ct.subarray(12, ct.length - 16)), d.final()]).toString()).toBe('v2');
      expect((await gw.call('POST', '/v1/decrypt', { ciphertext: old })).body.plaintext).toBe(b64('sealed under v1'));
      // The HSM holds the caller's new version too: it opens an envelope of version 2 with the keystore out.
      expect(res.body.bindings).toMatchObject([{ connection: 'local' }, { connection: 'hsm', sameMaterial: true, syncStatus: 'in_sync' }]);
      const sealed = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('sealed under v2') })).body.ciphertext;
      const restore = outage(gw.runtime.connections.get('local').provider, ['decrypt']);
      try {
        expect((await gw.call('POST', '/v1/decrypt', { ciphertext: sealed })).body.plaintext).toBe(b64('sealed under v2'));
      } finally {
        restore();
      }
      const events = (await gw.call('GET', `/v1/audit/events?keyId=${id}&limit=10`)).body.events;
      // Each rotation's audit record names the key rotated, and the wrapping key in its detail.
      const rotations = events.filter((e: { action: string }) => e.action === 'rotateKey');
      expect(rotations.map((e: { status: number }) => e.status)).toEqual([409, 400, 200]);
      expect(rotations.slice(1)).toMatchObject([{ detail: { wrappingKey } }, { keyVersion: 2, connection: null, detail: { wrappingKey } }]);
    });

    it('a key made of new material refuses the caller\'s', async () => {
      const id = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id as string;
      expect((await rotate(id, { material: { wrappedKey: wrap(randomBytes(32)), wrappingKey } })).body).toMatchObject({ status: 409, field: 'material', detail: expect.stringContaining('origin GATEWAY') });
      expect(await version(id)).toBe(1);
    });

    it('an HMAC key in AWS: the new version is a new AWS key of origin EXTERNAL made of the caller\'s material', async () => {
      const [first, second] = [randomBytes(32), randomBytes(32)];
      const id = (await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC', connection: 'aws', material: { wrappedKey: wrap(first, 'sha1'), wrappingKey, scheme: 'RSA_AES_KEY_WRAP_SHA_1' } })).body.id as string;
      const external = () => [...aws.keys.values()].filter((k) => k.origin === 'EXTERNAL').length;
      const before = external();
      const res = await rotate(id, { material: { wrappedKey: wrap(second, 'sha1'), wrappingKey, scheme: 'RSA_AES_KEY_WRAP_SHA_1' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(external()).toBe(before + 1);
      expect((await gw.call('POST', `/v1/keys/${id}/mac`, { message: b64('m') })).body.mac).toBe(createHmac('sha256', second).update('m').digest('base64'));
    });

    it('an EC key pair in the HSM: after rotation its public key is the caller\'s new one', async () => {
      const [first, second] = [newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' }), newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' })];
      const id = (await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'hsm', material: { wrappedKey: wrap(first.pkcs8), wrappingKey } })).body.id as string;
      expect((await rotate(id, { material: { wrappedKey: wrap(second.pkcs8), wrappingKey } })).status).toBe(200);
      const publicKey = (await gw.call('GET', `/v1/keys/${id}/public-key`)).body.publicKey;
      expect(createPublicKey(publicKey).export({ type: 'spki', format: 'der' })).toEqual(second.spki);
    });

    it('the lifecycle sweep leaves an imported key whose rotation period ran out, and rotates the others', async () => {
      const imported = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 1, material: { wrappedKey: wrap(randomBytes(32)), wrappingKey } })).body;
      const made = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 1 })).body.id as string;
      await sweepOnce(gw.database.db, gw.runtime.services.keys, newLogger('silent'), new Date(Date.now() + 2 * 86_400_000));
      expect(await version(made)).toBe(2);
      // Untouched: its due date stays, for the inventory to count it overdue.
      expect((await gw.call('GET', `/v1/keys/${imported.id}`)).body).toMatchObject({ currentVersion: 1, nextRotationAt: imported.nextRotationAt });
    });
  });
});

