// Bad requests get problem+json with the right status and change nothing.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway({ maxBodyBytes: 4096 }); });
afterAll(async () => { await gw.close(); });

const count = async () => (await gw.call('GET', '/v1/keys?limit=1000')).body.keys.length;

describe('bad input changes nothing', () => {
  it.each([
    ['an unknown spec', { spec: 'AES_128', usage: 'ENCRYPT_DECRYPT' }, 'spec'],
    ['a usage the spec cannot do', { spec: 'EC_P256', usage: 'ENCRYPT_DECRYPT' }, 'usage'],
    ['a missing usage', { spec: 'AES_256' }, 'usage'],
    ['an unknown field', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', colour: 'red' }, ''],
    ['a bad alias', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', aliases: ['has space'] }, 'aliases'],
    ['an empty tag key', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { '': 'x' } }, 'tags'],
    ['a tag key with a space', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { 'cost centre': 'x' } }, 'tags'],
    ['an unknown connection', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'nowhere' }, 'connection'],
    ['a bad date', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', activationDate: 'tomorrow' }, 'activationDate'],
    ['a zero rotation period', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 0 }, 'rotationPeriodDays'],
    ['a deactivation before activation', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', activationDate: '2030-01-02T00:00:00Z', deactivationDate: '2030-01-01T00:00:00Z' }, 'deactivationDate'],
    ['a protect-stop before activation', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', activationDate: '2030-01-02T00:00:00Z', protectStopDate: '2030-01-01T00:00:00Z' }, 'protectStopDate'],
    ['a deactivation before protect-stop', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', protectStopDate: '2031-01-02T00:00:00Z', deactivationDate: '2031-01-01T00:00:00Z' }, 'deactivationDate'],
  ])('create with %s is 400 naming the field', async (_, body, field) => {
    const before = await count();
    const res = await gw.call('POST', '/v1/keys', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', title: 'Bad Request' });
    expect(res.body.requestId).toMatch(/^req_/);
    expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
    if (field) expect(res.body.field).toBe(field);
    expect(await count()).toBe(before);
  });

  it('a bad tag key is named by the rule it breaks', async () => {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { 'cost centre': 'x' } });
    expect(res.body.detail).toBe('tags: a key must be 1-128 letters, digits or _.:/=+@-');
  });

  it('a taken alias is 409 and creates no key', async () => {
    await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', aliases: ['taken'] });
    const before = await count();
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', aliases: ['taken'] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('ALREADY_EXISTS');
    expect(await count()).toBe(before);
  });

  it('malformed JSON is 400', async () => {
    expect((await gw.call('POST', '/v1/keys', '{"spec":')).status).toBe(400);
  });

  it('a body that is not JSON is 415', async () => {
    const res = await gw.call('POST', '/v1/keys', 'spec=AES_256', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(res.body.title).toBe('Unsupported Media Type');
  });

  it('a merge patch is a PATCH body only', async () => {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' }, { 'content-type': 'application/merge-patch+json' });
    expect(res.status).toBe(415);
  });

  it('an update that would leave a key more than 50 tags is 400 and changes nothing; one that keeps an adopted key\'s many tags passes', async () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, 'v']));
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: fifty })).body;
    const res = await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { one: 'more' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'tags', detail: 'a key has at most 50 tags: this update would leave it 51' });
    expect(Object.keys((await gw.call('GET', `/v1/keys/${k.id}`)).body.tags)).toHaveLength(50);
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { t0: null, one: 'more' } })).status).toBe(200);
    // Adopted with more (Cloud KMS allows 64 labels): an update may change them without adding any.
    const sixty = JSON.stringify(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`t${i}`, 'v'])));
    await gw.forceState(k.id, 'ACTIVE', `, tags = '${sixty}'::jsonb`);
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { t1: 'changed' } })).status).toBe(200);
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: { t1: null, one: 'more', two: 'more' } })).status).toBe(400);
  });

  it('a body over the limit is 413', async () => {
    const res = await gw.call('POST', '/v1/keys/key_01jd0000000000000000000000/encrypt', { plaintext: b64(Buffer.alloc(8192)) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('RESOURCE_EXHAUSTED');
  });

  it('a wrong method is 405 with Allow', async () => {
    const res = await gw.call('DELETE', '/v1/keys');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, GET');
    const onKey = await gw.call('PUT', '/v1/keys/alias/x');
    expect(onKey.status).toBe(405);
    expect(onKey.headers.get('allow')).toContain('PATCH');
  });

  it('an unknown job kind is 400, not an empty list', async () => {
    const res = await gw.call('GET', '/v1/jobs?kind=discover');
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('kind');
    expect((await gw.call('GET', '/v1/jobs?kind=discovery')).status).toBe(200);
  });

  it('an unknown path is 404 problem+json', async () => {
    const res = await gw.call('GET', '/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('an unknown key is 404, a malformed key reference 400', async () => {
    expect((await gw.call('GET', '/v1/keys/key_01jd0000000000000000000000')).status).toBe(404);
    expect((await gw.call('GET', '/v1/keys/alias/missing')).status).toBe(404);
    expect((await gw.call('GET', '/v1/keys/not-a-key')).status).toBe(400);
  });

  it('plaintext that is not base64 is 400 and never echoed', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const res = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: 'top secret!!' });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('plaintext');
    expect(JSON.stringify(res.body)).not.toContain('top secret');
  });

  it('an encryption context with an empty key is 400 on the context', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const res = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x'), context: { '': 'x' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'context', detail: 'context: a key must be 1-256 characters' });
  });

  it('"__proto__" as a context key, tag key or tag filter is 400: as an object key it would vanish, leaving the context entry unbound', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    const proto = { ['__proto__']: 'tenant-a' };
    const encrypted = await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x'), context: proto });
    expect(encrypted.body).toMatchObject({ status: 400, field: 'context', detail: 'context: a key must not be __proto__' });
    expect((await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: proto })).body.field).toBe('tags');
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, { tags: proto })).body.field).toBe('tags');
    expect((await gw.call('GET', '/v1/keys?tag=__proto__:tenant-a')).body).toMatchObject({ status: 400, field: 'tag' });
  });

  it('using a key for the wrong kind of operation is 400', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC' })).body;
    expect((await gw.call('POST', `/v1/keys/${k.id}/encrypt`, { plaintext: b64('x') })).status).toBe(400);
    expect((await gw.call('GET', `/v1/keys/${k.id}/public-key`)).status).toBe(400);
  });

  it('an update with nothing in it is 400 and changes nothing', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { a: '1' } })).body;
    expect((await gw.call('PATCH', `/v1/keys/${k.id}`, {})).status).toBe(400);
    expect((await gw.call('GET', `/v1/keys/${k.id}`)).body.updatedAt).toBe(k.updatedAt);
  });

  it('removing an alias the key does not have is 404', async () => {
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body;
    expect((await gw.call('DELETE', `/v1/keys/${k.id}/aliases/none`)).status).toBe(404);
  });
});

describe('body limits over a real socket', () => {
  it('a declared Content-Length over the limit is 413, and a chunked body over it too', async () => {
    const { serve } = await import('@hono/node-server');
    const server = serve({ fetch: gw.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as import('node:net').AddressInfo;
    const url = `http://127.0.0.1:${port}/v1/decrypt`;
    const big = JSON.stringify({ ciphertext: b64(Buffer.alloc(8192)) });
    const declared = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(declared.status).toBe(413);
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } });
    const chunked = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    const small = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(small.status).toBe(415);
    // A POST with no body at all (curl -X POST): neither Content-Length nor Transfer-Encoding, with or without a Content-Type.
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    const bodiless = (headers: string) => new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`POST /v1/keys/${key}/rotate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.secret}\r\n${headers}Connection: close\r\n\r\n`));
      let reply = '';
      socket.on('data', (d) => { reply += d; }).on('end', () => resolve(reply)).on('error', reject);
    });
    expect((await bodiless('')).split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const typed = await bodiless('Content-Type: application/json\r\n');
    expect(typed.split('\r\n')[0], typed).toBe('HTTP/1.1 200 OK');
    // A declared empty one with a JSON Content-Type (fetch's bodiless POST): no body either, not malformed JSON.
    const empty = await fetch(`http://127.0.0.1:${port}/v1/keys/${key}/rotate`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.secret}` } });
    expect(empty.status, await empty.clone().text()).toBe(200);
    expect((await empty.json()).currentVersion).toBe(4);
    server.close();
  });
});
