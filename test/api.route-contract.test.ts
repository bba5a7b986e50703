// The contract every route keeps, checked for each operation in the OpenAPI document (so a new
// route is covered the day it is added): a bad body is 400 problem+json and changes nothing; a
// malformed key reference is 400 and an unknown key 404; a wrong method is 405 with Allow.
// Authentication (401) and authorization (403) join this contract when they land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let operations: { method: string; path: string; hasBody: boolean; bodyRequired: boolean }[];

beforeAll(async () => {
  gw = await startGateway();
  const doc = (await gw.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>> };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(), path, hasBody: op.requestBody !== undefined, bodyRequired: op.requestBody?.required === true,
  })));
});
afterAll(async () => { await gw.close(); });

/** A snapshot of everything a request could change. */
async function state() {
  const rows = await gw.database.db.execute('select (select count(*) from keys) as k, (select count(*) from key_events) as e, (select count(*) from key_versions) as v, (select count(*) from key_aliases) as a, (select max(updated_at) from keys) as u' as never);
  return JSON.stringify(rows);
}

const withKey = (path: string, key: string) => path.replace('{key}', key).replace('{name}', 'some-alias');

describe('route contract', () => {
  it('the document lists the operations', () => {
    expect(operations.length).toBeGreaterThan(25);
  });

  it('every operation with a body answers a body of the wrong shape with 400 problem+json and changes nothing', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    const before = await state();
    const failures: string[] = [];
    for (const op of operations.filter((o) => o.hasBody)) {
      const res = await gw.call(op.method, withKey(op.path, key), { unexpected: true });
      if (res.status !== 400 || res.headers.get('content-type') !== 'application/problem+json' || res.body.code !== 'INVALID_ARGUMENT') {
        failures.push(`${op.method} ${op.path}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await state()).toBe(before);
  });

  it('every operation with a required body answers a missing body with 400', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    const failures: string[] = [];
    for (const op of operations.filter((o) => o.bodyRequired)) {
      const res = await gw.call(op.method, withKey(op.path, key));
      if (res.status !== 400) failures.push(`${op.method} ${op.path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it('every operation on a key answers a malformed reference with 400 and an unknown key with 404, changing nothing', async () => {
    const before = await state();
    const failures: string[] = [];
    for (const op of operations.filter((o) => o.path.includes('{key}'))) {
      const body = op.bodyRequired ? validBodyFor(op.path) : undefined;
      const bad = await gw.call(op.method, withKey(op.path, 'not-a-key'), body);
      const unknown = await gw.call(op.method, withKey(op.path, 'key_01jd0000000000000000000000'), body);
      if (bad.status !== 400) failures.push(`${op.method} ${op.path} malformed: ${bad.status} ${bad.body?.detail}`);
      if (unknown.status !== 404) failures.push(`${op.method} ${op.path} unknown: ${unknown.status} ${unknown.body?.detail}`);
    }
    expect(failures).toEqual([]);
    expect(await state()).toBe(before);
  });

  it('every path answers a method it does not have with 405 and Allow', async () => {
    const paths = [...new Set(operations.map((o) => o.path))];
    const failures: string[] = [];
    for (const path of paths) {
      const allowed = operations.filter((o) => o.path === path).map((o) => o.method);
      const wrong = ['PUT', 'DELETE', 'PATCH', 'POST', 'GET'].find((m) => !allowed.includes(m))!;
      const res = await gw.call(wrong, withKey(path, 'key_01jd0000000000000000000000'));
      const allow = res.headers.get('allow')?.split(', ').sort();
      if (res.status !== 405 || JSON.stringify(allow) !== JSON.stringify([...allowed].sort())) failures.push(`${wrong} ${path}: ${res.status} allow=${allow}`);
    }
    expect(failures).toEqual([]);
  });
});

/** A body that passes validation, so that the key reference is what the route judges. */
function validBodyFor(path: string): unknown {
  const m = 'bWVzc2FnZQ==';
  if (path.endsWith('/encrypt')) return { plaintext: m };
  if (path.endsWith('/sign')) return { message: m, algorithm: 'ECDSA_SHA_256' };
  if (path.endsWith('/verify')) return { message: m, algorithm: 'ECDSA_SHA_256', signature: m };
  if (path.endsWith('/mac')) return { message: m };
  if (path.endsWith('/wrap')) return { key: m };
  if (path.endsWith('/unwrap')) return { wrappedKey: m };
  if (path.endsWith('/export')) return { scheme: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKey: m };
  if (path.endsWith('/verify-mac')) return { message: m, mac: m };
  if (path.endsWith('/aliases')) return { name: 'an-alias' };
  if (path === '/v1/keys/{key}') return { description: 'x' };
  return {};
}
