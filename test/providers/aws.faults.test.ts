// The AWS adapter under faults the emulator cannot produce, over mocked HTTP (msw): exact wire
// shapes, throttling, 5xx, timeouts and malformed replies — and the core's retries, deadlines,
// circuit breaker and error mapping around it. Nothing leaves the process: unhandled requests fail.
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KmsError } from '../../src/errors.ts';
import { Connection } from '../../src/routing/connection.ts';
import { AwsKmsProvider } from '../../providers/awskms/index.ts';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { newKmsClient } from '../../providers/awskms/client.ts';
import { holder } from '../support/import.ts';
import { newKeyPairSync } from '../../src/crypto/keypair.ts';
import { awsKmsFixture } from '../fixtures/aws-kms.ts';

const ENDPOINT = 'https://kms.us-east-1.amazonaws.com';
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const REF = `aws:${ARN}`;

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

type Reply = (body: Record<string, unknown>) => Response | Promise<Response>;
const calls: { target: string; body: Record<string, unknown> }[] = [];
let reply: Record<string, Reply> = {};

const server = setupServer(http.post(`${ENDPOINT}/`, async ({ request }) => {
  const target = request.headers.get('x-amz-target')!.replace('TrentService.', '');
  const body = (await request.json()) as Record<string, unknown>;
  calls.push({ target, body });
  const handler = reply[target];
  return handler ? handler(body) : awsError(400, 'UnsupportedOperationException', `no fixture for ${target}`);
}));

function awsError(status: number, type: string, message: string) {
  return HttpResponse.json({ __type: type, message }, { status, headers: { 'content-type': 'application/x-amz-json-1.1' } });
}
const ok = (body: Record<string, unknown>) => HttpResponse.json(body, { headers: { 'content-type': 'application/x-amz-json-1.1' } });
const encryptOk: Reply = () => ok({ CiphertextBlob: Buffer.from('wrapped').toString('base64'), KeyId: ARN });

function connection(resilience: Record<string, number> = {}, timeoutMs = 300) {
  return new Connection('aws-test', new AwsKmsProvider(newKmsClient({ region: 'us-east-1', endpoint: ENDPOINT })), {
    timeoutMs, resilience: { backoffInitialMs: 1, backoffMaxMs: 5, breakerThreshold: 3, breakerHalfOpenMs: 200, ...resilience },
  });
}
const encrypt = (c: Connection) => c.call('encrypt', (p) => p.encrypt({ ref: REF, versionRef: REF, spec: 'AES_256', plaintext: new Uint8Array(32), aad: Buffer.from('aad') }));
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as KmsError);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => { server.resetHandlers(); calls.length = 0; reply = {}; });
afterAll(() => server.close());

describe('wire format', () => {
  it('encrypt sends the key id, the DEK and the wrap AAD as encryption context kmsgw:aad', async () => {
    reply.Encrypt = encryptOk;
    const out = await encrypt(connection());
    expect(Buffer.from(out).toString()).toBe('wrapped');
    expect(calls).toEqual([{ target: 'Encrypt', body: {
      KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
      Plaintext: Buffer.alloc(32).toString('base64'),
      EncryptionContext: { 'kmsgw:aad': Buffer.from('aad').toString('base64') },
    } }]);
  });

  it('createKey sends spec, usage and the gateway id tag, and returns the ARN as key URI', async () => {
    reply.CreateKey = () => ok({ KeyMetadata: { Arn: ARN, KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' } });
    const created = await connection().call('createKey', (p) => p.createKey({ spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: false, keyId: 'key_01jd0000000000000000000000' }));
    expect(created.ref).toBe(REF);
    expect(calls[0]!.body).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'kmsgw:key-id', TagValue: 'key_01jd0000000000000000000000' }] });
  });
});

describe('import', () => {
  it('makes an EXTERNAL key, asks its parameters for the holder\'s scheme (SHA-256 first, then SHA-1 on the same key) and imports material that never expires', async () => {
    const fixture = awsKmsFixture(ENDPOINT);
    server.use(fixture.handler);
    const pair = newKeyPairSync({ type: 'ec', namedCurve: 'prime256v1' });
    const offered: string[] = [];
    const created = await connection().call('importKey', (p) => (p as AwsKmsProvider).importKey({
      spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, keyId: 'key_01jd0000000000000000000000', wrap: holder(pair.pkcs8, { offered, can: (s) => s.endsWith('SHA_1') }),
    }));
    expect(offered).toEqual(['RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1']);
    expect(created).toMatchObject({ ref: created.versionRef, attributes: { extractable: false, neverExtractable: false } });
    expect([...fixture.keys.values()].map((k) => [k.origin, k.state])).toEqual([['EXTERNAL', 'Enabled']]);
    const publicKey = await connection().call('getPublicKey', (p) => (p as AwsKmsProvider).getPublicKey(created));
    expect(Buffer.from(publicKey)).toEqual(pair.spki);
  });

  it('a refused import leaves its empty key scheduled for deletion, and says what was wrong', async () => {
    const fixture = awsKmsFixture(ENDPOINT);
    server.use(fixture.handler);
    const rsa = newKeyPairSync({ type: 'rsa', modulusLength: 2048 });
    const err = await failure(connection().call('importKey', (p) => (p as AwsKmsProvider).importKey({
      spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true, keyId: 'key_01jd0000000000000000000000', wrap: holder(rsa.pkcs8),
    })));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const cannot = await failure(connection().call('importKey', (p) => (p as AwsKmsProvider).importKey({
      spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true, keyId: 'key_01jd0000000000000000000000', wrap: holder(Buffer.alloc(32), { can: () => false }),
    })));
    expect(cannot).toMatchObject({ code: 'UNIMPLEMENTED' });
    expect([...fixture.keys.values()].map((k) => k.state)).toEqual(['PendingDeletion', 'PendingDeletion']);
  });

  it('an import carries its operation id and the binding\'s tags; after a crash findCreated adopts a finished one and removes one cut short', async () => {
    const fixture = awsKmsFixture(ENDPOINT);
    server.use(fixture.handler);
    const keyId = 'key_01jd0000000000000000000000';
    const c = connection();
    const find = (operation: string) => c.call('findCreated', (p) => (p as AwsKmsProvider).findCreated({ keyId, operation }));
    const done = await c.call('importKey', (p) => (p as AwsKmsProvider).importKey({
      spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId, operation: 'op-done', tags: { team: 'payments' }, wrap: holder(Buffer.alloc(32, 7)),
    }));
    expect([...fixture.keys.values()][0]!.tags).toEqual(expect.arrayContaining([
      { TagKey: 'kmsgw:key-id', TagValue: keyId }, { TagKey: 'kmsgw:operation', TagValue: 'op-done' }, { TagKey: 'team', TagValue: 'payments' }]));
    expect(await find('op-done')).toEqual({ ref: done.versionRef, versionRef: done.versionRef });
    // A process that died between CreateKey and ImportKeyMaterial left an EXTERNAL key without material.
    await newKmsClient({ region: 'us-east-1', endpoint: ENDPOINT }).send(new CreateKeyCommand({
      Origin: 'EXTERNAL', Tags: [{ TagKey: 'kmsgw:key-id', TagValue: keyId }, { TagKey: 'kmsgw:operation', TagValue: 'op-cut' }],
    }));
    const cut = [...fixture.keys.values()][1]!;
    expect(cut.state).toBe('PendingImport');
    expect(await find('op-cut')).toBeUndefined();
    expect(cut.state).toBe('PendingDeletion');
    expect(await find('op-never')).toBeUndefined();
  });
});

describe('tags', () => {
  const keyId = 'key_01jd0000000000000000000000';
  const many = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(2, '0')}`, 'v']));

  it('a key gets as many of its tags as fit beside the gateway\'s own within AWS\'s 50, the same ones each time', async () => {
    const fixture = awsKmsFixture(ENDPOINT);
    server.use(fixture.handler);
    const c = connection();
    const { ref } = await c.call('createKey', (p) => p.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId }));
    // A rotation's new AWS key is made with the key's tags (in reverse order here: AWS keeps the first 48 by name).
    const tags = Object.fromEntries(Object.entries(many(50, 't')).reverse());
    await c.call('createVersion', (p) => p.createVersion({ ref, spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId, operation: 'op-1', tags }));
    expect([...fixture.keys.values()][1]!.tags.map((t) => t.TagKey)).toEqual(['kmsgw:key-id', 'kmsgw:operation', ...Object.keys(many(48, 't'))]);
  });

  it('tags set by others stay and count: the gateway writes what fits beside them and removes what it wrote before and no longer writes', async () => {
    const fixture = awsKmsFixture(ENDPOINT);
    server.use(fixture.handler);
    const c = connection();
    const { ref, versionRef } = await c.call('createKey', (p) => p.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId }));
    const key = [...fixture.keys.values()][0]!;
    key.tags.push({ TagKey: 'team', TagValue: 'payments' }, { TagKey: 'old', TagValue: 'x' });
    key.tags.push(...Object.entries(many(40, 'others-')).map(([TagKey, TagValue]) => ({ TagKey, TagValue })));
    const setTags = (tags: Record<string, string>, previous: Record<string, string>) => c.call('setTags', (p) => (p as AwsKmsProvider).setTags({ ref, versionRefs: [versionRef], tags, previous }));
    const written = await setTags({ team: 'payments', ...many(20, 'mine-') }, { team: 'payments', old: 'x' });
    // 50 = the gateway's id tag, the others' 40 and 9 of the caller's 21, in name order.
    expect(Object.keys(written)).toEqual([...Object.keys(many(9, 'mine-'))]);
    expect(key.tags).toHaveLength(50);
    expect(key.tags.map((t) => t.TagKey)).not.toContain('old');
    expect(key.tags.map((t) => t.TagKey)).not.toContain('team');
    expect(key.tags.filter((t) => t.TagKey.startsWith('others-'))).toHaveLength(40);
  });
});

describe('deadlines', () => {
  it('key generation gets its own, longer attempt timeout; other calls keep theirs', async () => {
    reply.CreateKey = async () => { await delay(300); return ok({ KeyMetadata: { Arn: ARN, KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' } }); };
    reply.Encrypt = async () => { await delay(300); return encryptOk({}); };
    const c = new Connection('aws-test', new AwsKmsProvider(newKmsClient({ region: 'us-east-1', endpoint: ENDPOINT })), {
      timeoutMs: 100, generationTimeoutMs: 2_000, resilience: { maxAttempts: 1, deadlineMs: 150 },
    });
    const created = await c.call('createKey', (p) => p.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_01jd0000000000000000000000' }));
    expect(created.ref).toBe(REF);
    expect(await failure(encrypt(c))).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('a discovery page, many calls long, gets the longer timeout too: under the per-call one it would time out and trip the circuit', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `1234abcd-12ab-34cd-56ef-${String(i).padStart(12, '0')}`);
    reply.ListKeys = () => ok({ Keys: ids.map((id) => ({ KeyId: id, KeyArn: ARN.replace(/[^/]+$/, id) })), Truncated: false });
    reply.DescribeKey = async (body) => {
      await delay(40);
      return ok({ KeyMetadata: { KeyId: body.KeyId, Arn: ARN.replace(/[^/]+$/, body.KeyId as string), KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', KeyState: 'Enabled', KeyManager: 'CUSTOMER', Origin: 'AWS_KMS' } });
    };
    reply.ListResourceTags = async () => { await delay(40); return ok({ Tags: [{ TagKey: 'team', TagValue: 'billing' }] }); };
    // Each call answers in 40 ms, well within 100; the page (16 keys, 8 at a time, two calls each) takes about 160.
    const c = new Connection('aws-test', new AwsKmsProvider(newKmsClient({ region: 'us-east-1', endpoint: ENDPOINT })), {
      timeoutMs: 100, generationTimeoutMs: 2_000, resilience: { maxAttempts: 1, deadlineMs: 150 },
    });
    let paced = 0;
    const page = await c.call('discoverKeys', (p) => (p as AwsKmsProvider).discoverKeys({ pageSize: 100, pace: async () => { paced++; } }));
    expect(page.keys).toHaveLength(16);
    // Every call after the listing waits its turn under the connection's rate limit: a describe and a tag listing per key.
    expect(paced).toBe(32);
    expect(page.keys[0]).toMatchObject({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', state: 'ENABLED', tags: { team: 'billing' } });
    expect(c.circuit).toBe('closed');
  });
});

describe('keys these credentials may list but not read', () => {
  const ids = ['readable', 'refused', 'deleted'].map((name, i) => ({ name, id: `1234abcd-12ab-34cd-56ef-${String(i).padStart(12, '0')}` }));
  const arn = (id: string) => ARN.replace(/[^/]+$/, id);
  const refused = (body: Record<string, unknown>) => (body.KeyId === ids[1]!.id ? awsError(400, 'AccessDeniedException', 'not authorized to perform: kms:DescribeKey') : undefined);
  const gone = (body: Record<string, unknown>) => (body.KeyId === ids[2]!.id ? awsError(400, 'NotFoundException', 'Key does not exist') : undefined);
  const provider = () => new AwsKmsProvider(newKmsClient({ region: 'us-east-1', endpoint: ENDPOINT }));

  it('discovery lists a key it may not describe as unreadable and leaves out one deleted since the listing: the page is not lost for them', async () => {
    reply.ListKeys = () => ok({ Keys: ids.map(({ id }) => ({ KeyId: id, KeyArn: arn(id) })), Truncated: false });
    reply.DescribeKey = (body) => refused(body) ?? gone(body) ?? ok({ KeyMetadata: { KeyId: body.KeyId, Arn: arn(body.KeyId as string), KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', KeyState: 'Enabled', KeyManager: 'CUSTOMER', Origin: 'AWS_KMS' } });
    reply.ListResourceTags = () => ok({ Tags: [] });
    const page = await provider().discoverKeys({ pageSize: 100, pace: async () => {} });
    expect(page.keys).toEqual([
      expect.objectContaining({ ref: `aws:${arn(ids[0]!.id)}`, spec: 'HMAC_256', state: 'ENABLED' }),
      { ref: `aws:${arn(ids[1]!.id)}`, versionRef: `aws:${arn(ids[1]!.id)}`, nativeSpec: 'unknown', state: 'OTHER', tags: {}, unreadable: 'PERMISSION_DENIED' },
    ]);
  });

  it('a lost creation is looked for past keys whose tags these credentials may not read', async () => {
    reply.ListKeys = () => ok({ Keys: ids.map(({ id }) => ({ KeyId: id, KeyArn: arn(id) })), Truncated: false });
    reply.ListResourceTags = (body) => refused(body) ?? gone(body) ?? ok({ Tags: [{ TagKey: 'kmsgw:key-id', TagValue: 'key_01jd0000000000000000000000' }, { TagKey: 'kmsgw:operation', TagValue: 'op_1' }] });
    reply.DescribeKey = (body) => ok({ KeyMetadata: { KeyId: body.KeyId, KeyState: 'Enabled' } });
    const found = await provider().findCreated({ keyId: 'key_01jd0000000000000000000000', operation: 'op_1' });
    expect(found).toEqual({ ref: `aws:${arn(ids[0]!.id)}`, versionRef: `aws:${arn(ids[0]!.id)}` });
  });
});

describe('retries', () => {
  it('throttling is retried with back-off until it passes', async () => {
    let n = 0;
    reply.Encrypt = () => (++n <= 2 ? awsError(400, 'ThrottlingException', 'Rate exceeded') : encryptOk({}));
    await encrypt(connection());
    expect(calls.length).toBe(3);
  });

  it('throttling that does not pass ends as RESOURCE_EXHAUSTED after the last attempt', async () => {
    reply.Encrypt = () => awsError(400, 'ThrottlingException', 'Rate exceeded');
    const err = await failure(encrypt(connection({ maxAttempts: 3 })));
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', status: 429, provider: 'aws', op: 'encrypt' });
    expect(calls.length).toBe(3);
  });

  it('a 5xx on createKey is not retried (the key may exist), a throttle on it is', async () => {
    reply.CreateKey = () => awsError(500, 'KMSInternalException', 'internal');
    const c = connection();
    const create = () => c.call('createKey', (p) => p.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_01jd0000000000000000000000' }));
    expect((await failure(create())).code).toBe('UNAVAILABLE');
    expect(calls.length).toBe(1);
    let n = 0;
    reply.CreateKey = () => (++n === 1 ? awsError(400, 'ThrottlingException', 'slow down') : ok({ KeyMetadata: { Arn: ARN } }));
    await create();
    expect(calls.length).toBe(3);
  });
});

describe('deadlines', () => {
  it('an attempt that does not answer in time fails with DEADLINE_EXCEEDED (504)', async () => {
    reply.Encrypt = async () => { await delay(2_000); return encryptOk({}); };
    const started = performance.now();
    const err = await failure(encrypt(connection({ maxAttempts: 2 }, 150)));
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(calls.length).toBe(2);
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

describe('overall deadline', () => {
  it('stops retrying throttled calls when the call\'s deadline passes, and says so', async () => {
    reply.Encrypt = () => awsError(400, 'ThrottlingException', 'Rate exceeded');
    const started = performance.now();
    const err = await failure(encrypt(connection({ maxAttempts: 1000, backoffInitialMs: 20, backoffMaxMs: 20, deadlineMs: 250 })));
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(performance.now() - started).toBeLessThan(1_000);
    // An attempt already on the wire may still land; after that, no new attempt starts.
    await delay(100);
    const made = calls.length;
    await delay(200);
    expect(calls.length).toBe(made);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, fails fast without calling out, and closes once the provider answers', async () => {
    reply.Encrypt = () => awsError(503, 'KMSInternalException', 'down');
    const c = connection({ maxAttempts: 1 });
    for (let i = 0; i < 3; i++) expect((await failure(encrypt(c))).code).toBe('UNAVAILABLE');
    const before = calls.length;
    const open = await failure(encrypt(c));
    expect(open.code).toBe('UNAVAILABLE');
    expect(open.message).toContain('circuit open');
    expect(open.retryAfter).toBe(5);
    expect(calls.length).toBe(before);
    await delay(250);
    reply.Encrypt = encryptOk;
    await encrypt(c);
    await encrypt(c);
    expect(calls.length).toBe(before + 2);
  });

  it('while one call tests the half-open circuit, the others are refused at once, not queued behind it', async () => {
    reply.Encrypt = () => awsError(503, 'KMSInternalException', 'down');
    const c = connection({ maxAttempts: 1 });
    for (let i = 0; i < 3; i++) await failure(encrypt(c));
    await delay(250);
    // The test call meets an endpoint that answers only when released.
    let release!: () => void;
    reply.Encrypt = () => new Promise((resolve) => { release = () => resolve(encryptOk({})); });
    const test = encrypt(c);
    await delay(20);
    expect(c.circuit).toBe('half-open');
    const other = await failure(encrypt(c));
    expect(other.message).toContain('circuit open');
    expect(calls.filter((x) => x.target === 'Encrypt').length).toBe(4);
    release();
    await test;
    expect(c.circuit).toBe('closed');
  });

  it('client errors do not open the circuit', async () => {
    reply.Encrypt = () => awsError(400, 'NotFoundException', 'no such key');
    const c = connection({ maxAttempts: 1 });
    for (let i = 0; i < 5; i++) expect((await failure(encrypt(c))).code).toBe('NOT_FOUND');
    expect(calls.length).toBe(5);
  });
});

describe('error mapping', () => {
  it.each([
    ['NotFoundException', 'NOT_FOUND', 404],
    ['DisabledException', 'FAILED_PRECONDITION', 409],
    ['KMSInvalidStateException', 'FAILED_PRECONDITION', 409],
    ['InvalidCiphertextException', 'INVALID_ARGUMENT', 400],
    ['IncorrectKeyException', 'INVALID_ARGUMENT', 400],
    ['AccessDeniedException', 'PERMISSION_DENIED', 403],
    ['UnrecognizedClientException', 'UNAUTHENTICATED', 401],
    ['SomethingNewException', 'INTERNAL', 500],
  ])('%s becomes %s (%d), wrapped once with provider and operation', async (type, code, status) => {
    reply.Decrypt = () => awsError(400, type, 'secret-looking detail 0123456789abcdef');
    const err = await failure(connection({ maxAttempts: 1 }).call('decrypt', (p) => p.decrypt({ ref: REF, versionRef: REF, spec: 'AES_256', ciphertext: new Uint8Array(8), aad: Buffer.from('x') })));
    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({ code, status, provider: 'aws', op: 'decrypt' });
    expect(err.message).not.toContain('secret-looking');
  });

  it('a malformed reply is INTERNAL, not a crash, and its body does not reach the message', async () => {
    reply.Encrypt = () => new HttpResponse('<html>proxy error: plaintext?</html>', { status: 200, headers: { 'content-type': 'text/html' } });
    const err = await failure(encrypt(connection({ maxAttempts: 1 })));
    expect(err).toMatchObject({ code: 'INTERNAL', status: 500 });
    expect(err.message).not.toContain('proxy error');
  });

  it('a verify that AWS answers KMSInvalidSignatureException is simply invalid', async () => {
    reply.Verify = () => awsError(400, 'KMSInvalidSignatureException', 'bad signature');
    const valid = await connection().call('verify', async (p) => (p as AwsKmsProvider).verify({
      ref: REF, versionRef: REF, spec: 'EC_P256', algorithm: 'ECDSA_SHA_256', digest: new Uint8Array(32), signature: new Uint8Array(70),
    }));
    expect(valid).toBe(false);
    expect(calls[0]!.body).toMatchObject({ MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  });
});
