// The contract every route keeps, checked for each operation in the OpenAPI document (so a new
// route is covered the day it is added): a bad body is 400 problem+json and changes nothing; a
// malformed key reference is 400 and an unknown key 404; a wrong method is 405 with Allow; no
// credentials is 401 and credentials that no policy permits are 403, each changing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let operations: { method: string; path: string; operationId: string; hasBody: boolean; bodyRequired: boolean }[];

beforeAll(async () => {
  gw = await startGateway();
  const doc = (await gw.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { operationId: string; requestBody?: { required?: boolean } }>> };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(), path, operationId: op.operationId, hasBody: op.requestBody !== undefined, bodyRequired: op.requestBody?.required === true,
  })));
});
afterAll(async () => { await gw.close(); });

/** A snapshot of everything a request could change. */
async function state() {
  const rows = await gw.database.db.execute(`select (select count(*) from keys) as k, (select count(*) from key_events) as e, (select count(*) from key_versions) as v,
    (select count(*) from key_aliases) as a, (select max(updated_at) from keys) as u, (select count(*) from api_keys where revoked_at is null) as ak, (select count(*) from policies) as p,
    (select count(*) from approval_requests) as ar, (select count(*) from approval_votes) as av` as never);
  return JSON.stringify(rows);
}

const withKey = (path: string, key: string) => path.replace('{key}', key).replace('{name}', 'some-alias')
  .replace('/v1/policies/{id}', '/v1/policies/some-policy').replace('/v1/api-keys/{id}', `/v1/api-keys/${bystander}`).replace('/v1/approvals/{id}', `/v1/approvals/${approval}`);
/** Public operations: no credentials needed. */
const isPublic = (path: string) => ['/healthz', '/readyz'].includes(path);
let bystander: string;
/** A pending approval request, for the routes that vote on one. */
let approval = 'apr_01jd0000000000000000000000';

describe('route contract', () => {
  it('the document lists the operations', () => {
    expect(operations.length).toBeGreaterThan(25);
  });

  it('every authenticated operation is a Cedar action of the schema', () => {
    const schema = schemaToJson(gw.runtime.services.access.engine.schema);
    if (schema.type !== 'success') throw new Error('schema does not parse');
    const actions = schema.json.KmsGw!.actions;
    const missing = operations.filter((o) => !isPublic(o.path) && !actions[o.operationId]).map((o) => o.operationId);
    expect(missing).toEqual([]);
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

  it('every operation but health answers a request without credentials with 401 and WWW-Authenticate, changing nothing', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    bystander = (await gw.apiKey(['read-only'])).principal;
    const before = await state();
    const failures: string[] = [];
    for (const op of operations.filter((o) => !isPublic(o.path))) {
      for (const authorization of ['', 'Bearer kmsgw_not-a-key']) {
        const res = await gw.call(op.method, withKey(op.path, key), op.hasBody ? validBodyFor(op.path) : undefined, { authorization });
        if (res.status !== 401 || !res.headers.get('www-authenticate')?.startsWith('Bearer realm=')) failures.push(`${op.method} ${op.path} (${authorization || 'none'}): ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await state()).toBe(before);
  });

  it('every operation answers valid credentials that no policy permits with 403, changing nothing', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    envelope = (await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: 'bWVzc2FnZQ==' })).body.ciphertext;
    bystander = (await gw.apiKey(['read-only'])).principal;
    await gw.policy('needs-approval', `@id("needs-approval")\nforbid (principal, action == KmsGw::Action::"suspendKey", resource == KmsGw::Key::"${key}") unless { context.approvals >= 1 };`);
    approval = (await gw.call('POST', '/v1/approvals', { operation: 'suspendKey', key, reason: 'contract' })).body.id;
    const nobody = await gw.apiKey([]);
    const before = await state();
    const failures: string[] = [];
    for (const op of operations.filter((o) => !isPublic(o.path))) {
      const res = await gw.call(op.method, withKey(op.path, key), op.hasBody ? validBodyFor(op.path) : undefined, { authorization: `Bearer ${nobody.secret}` });
      if (res.status !== 403 || res.body.code !== 'PERMISSION_DENIED') failures.push(`${op.method} ${op.path}: ${res.status} ${res.body?.detail}`);
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

let envelope: string | undefined;

/** A body that passes validation, so that the key reference (or the access decision) is what the route judges. */
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
  if (path.endsWith('/replicas')) return { connection: 'local' };
  if (path === '/v1/keys/{key}') return { description: 'x' };
  if (path === '/v1/keys') return { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' };
  if (path === '/v1/decrypt' || path === '/v1/reencrypt') return { ciphertext: envelope ?? m };
  if (path === '/v1/api-keys') return { name: 'x', roles: ['administrator'] };
  if (path === '/v1/policies/{id}') return { text: '@id("some-policy")\npermit (principal, action == KmsGw::Action::"getKey", resource);' };
  if (path === '/v1/approvals') return { operation: 'suspendKey', key: 'key_01jd0000000000000000000000', reason: 'x' };
  if (path === '/v1/backups') return { encryptionKey: 'key_01jd0000000000000000000000', signingKey: 'key_01jd0000000000000000000000' };
  if (path === '/v1/grants') return { principal: 'ak_01jd0000000000000000000000', key: 'key_01jd0000000000000000000000', actions: ['decrypt'], expiresAt: new Date(Date.now() + 60_000).toISOString(), reason: 'x' };
  return {};
}
