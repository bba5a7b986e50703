// Bring your own key: the caller wraps its own material for a gateway RSA key's public key, as it
// would for a cloud's import (callerWrap), and the key is made of it on the connection it names. Each check uses
// the caller's material directly, so the key can only pass by holding it.
import { createDecipheriv, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyPairSync } from '../src/crypto/keypair.ts';
import { awsKmsFixture } from './fixtures/aws-kms.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { softhsmConnection } from './support/softhsm.ts';
import { callerWrap } from './support/import.ts';

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
});
