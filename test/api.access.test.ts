// Authentication and access policy end to end: API keys, roles, separation of duties, grants that
// lapse by themselves, policies managed through the API, and every decision in the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, b64, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let key: string;
let admin: { principal: string; secret: string };
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

beforeAll(async () => {
  gw = await startGateway();
  admin = await gw.apiKey(['administrator']);
  key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { 'kmsgw:users': 'payments' } }, as(admin.secret))).body.id;
});
afterAll(async () => { await gw.close(); });

const lastEvent = async () => {
  const auditor = await gw.apiKey(['auditor']);
  const events = (await gw.call('GET', '/v1/audit/events?limit=1000', undefined, as(auditor.secret))).body.events;
  return events.at(-1); // the auditor's own query is recorded after it answers
};

describe('authentication', () => {
  it('no credentials is 401 with WWW-Authenticate, and the refusal is audited', async () => {
    const res = await gw.call('GET', `/v1/keys/${key}`, undefined, { authorization: '' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="kms-gateway"');
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect(await lastEvent()).toMatchObject({ principal: 'anonymous', action: 'getKey', decision: 'deny', reasons: ['no-credentials'], status: 401 });
  });

  it('a wrong or malformed key is 401 with error="invalid_token"', async () => {
    for (const header of [`Bearer kmsgw_${'A'.repeat(43)}`, 'Bearer nonsense', 'Basic dXNlcjpwYXNz']) {
      const res = await gw.call('GET', `/v1/keys/${key}`, undefined, { authorization: header });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="kms-gateway", error="invalid_token"');
    }
  });

  it('a revoked key stops working at once', async () => {
    const k = await gw.apiKey(['read-only']);
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(k.secret))).status).toBe(200);
    expect((await gw.call('DELETE', `/v1/api-keys/${k.principal}`, undefined, as(admin.secret))).status).toBe(200);
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(k.secret))).status).toBe(401);
  });

  it('an expired key is refused', async () => {
    const k = await gw.apiKey(['read-only'], [], new Date(Date.now() + 1000));
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(k.secret))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(k.secret))).status).toBe(401);
  });

  it('an API key\'s secret is shown once; the list holds neither it nor its hash, and records last use', async () => {
    const made = await gw.call('POST', '/v1/api-keys', { name: 'ci deploys', roles: ['crypto-user'], groups: ['payments'] }, as(admin.secret));
    expect(made.status).toBe(201);
    expect(made.body.secret).toMatch(/^kmsgw_[A-Za-z0-9_-]{43}$/);
    await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') }, as(made.body.secret));
    const list = await gw.call('GET', '/v1/api-keys', undefined, as(admin.secret));
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(made.body.secret);
    expect(text).not.toContain(made.body.secret.slice(12));
    const row = list.body.apiKeys.find((k: { id: string }) => k.id === made.body.id);
    expect(row).toMatchObject({ name: 'ci deploys', roles: ['crypto-user'], hint: made.body.secret.slice(0, 10), revokedAt: null });
    await expect.poll(async () => (await gw.call('GET', '/v1/api-keys', undefined, as(admin.secret))).body.apiKeys.find((k: { id: string }) => k.id === made.body.id).lastUsedAt).not.toBeNull();
  });

  it('a break-glass key must expire within 24 hours', async () => {
    const res = await gw.call('POST', '/v1/api-keys', { name: 'incident', roles: ['break-glass'] }, as(admin.secret));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('expiresAt');
  });
});

describe('authorization', () => {
  it('an auditor cannot encrypt', async () => {
    const auditor = await gw.apiKey(['auditor']);
    const res = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') }, as(auditor.secret));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
    expect(res.body.detail).toContain('auditor-never-uses-keys');
  });

  it('a crypto user uses the keys tagged for its group and no other', async () => {
    const user = await gw.apiKey(['crypto-user'], ['payments']);
    const ct = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('pay') }, as(user.secret));
    expect(ct.status).toBe(200);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct.body.ciphertext }, as(user.secret))).body.plaintext).toBe(b64('pay'));
    const other = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' }, as(admin.secret))).body.id;
    expect((await gw.call('POST', `/v1/keys/${other}/encrypt`, { plaintext: b64('x') }, as(user.secret))).status).toBe(403);
    expect((await gw.call('POST', `/v1/keys/${key}/rotate`, undefined, as(user.secret))).status).toBe(403);
  });

  it('a key administrator cannot decrypt unless granted, and the grant lapses by itself', async () => {
    const ct = (await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('secret') })).body.ciphertext;
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct }, as(admin.secret))).status).toBe(403);
    const grant = await gw.call('POST', '/v1/grants', { principal: admin.principal, key, actions: ['decrypt'], expiresAt: new Date(Date.now() + 2000).toISOString(), reason: 'INC-42 recovery' }, as(admin.secret));
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({ kind: 'grant', description: 'INC-42 recovery' });
    const opened = await gw.call('POST', '/v1/decrypt', { ciphertext: ct }, as(admin.secret));
    expect(opened.status).toBe(200);
    expect((await lastEvent()).reasons).toEqual([grant.body.id]);
    // Nobody calls anything: the grant's own condition ends it.
    await new Promise((r) => setTimeout(r, 2100));
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct }, as(admin.secret))).status).toBe(403);
  });

  it('an explicit forbid added through the API beats a role\'s permit, and its removal restores it', async () => {
    const ro = await gw.apiKey(['read-only']);
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(ro.secret))).status).toBe(200);
    const text = `@id("no-reading-payments")\nforbid (principal in KmsGw::Role::"read-only", action == KmsGw::Action::"getKey", resource)\nwhen { resource.hasTag("kmsgw:users") && resource.getTag("kmsgw:users") == "payments" };`;
    const put = await gw.call('PUT', '/v1/policies/no-reading-payments', { text, description: 'payments keys are private' }, as(admin.secret));
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(1);
    const denied = await gw.call('GET', `/v1/keys/${key}`, undefined, as(ro.secret));
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('no-reading-payments');
    expect((await gw.call('DELETE', '/v1/policies/no-reading-payments', undefined, as(admin.secret))).body).toMatchObject({ version: 2, removed: true });
    expect((await gw.call('GET', `/v1/keys/${key}`, undefined, as(ro.secret))).status).toBe(200);
  });

  it('a policy is validated against the schema before it is accepted', async () => {
    const cases: [string, string, number][] = [
      ['bad-attr', '@id("bad-attr")\npermit (principal, action == KmsGw::Action::"encrypt", resource) when { resource.colour == "red" };', 400],
      ['bad-action', '@id("bad-action")\npermit (principal, action == KmsGw::Action::"encryptEverything", resource);', 400],
      ['mismatch', '@id("other-id")\npermit (principal, action == KmsGw::Action::"getKey", resource);', 400],
      ['two', '@id("two")\npermit (principal, action == KmsGw::Action::"getKey", resource);\n@id("three")\npermit (principal, action == KmsGw::Action::"getKey", resource);', 400],
      ['syntax', 'permit (principal, action', 400],
      ['auditor-never-uses-keys', '@id("auditor-never-uses-keys")\npermit (principal, action == KmsGw::Action::"encrypt", resource);', 409],
    ];
    for (const [id, text, status] of cases) {
      const res = await gw.call('PUT', `/v1/policies/${id}`, { text }, as(admin.secret));
      expect(res.status, `${id}: ${res.body.detail}`).toBe(status);
    }
    const list = await gw.call('GET', '/v1/policies', undefined, as(admin.secret));
    expect(list.body.policies.map((p: { id: string }) => p.id)).not.toContain('bad-attr');
    expect(list.body.policies.filter((p: { kind: string }) => p.kind === 'shipped').length).toBeGreaterThanOrEqual(9);
  });

  it('a break-glass key may do anything while valid, and every use is flagged in the audit trail', async () => {
    const made = await gw.call('POST', '/v1/api-keys', { name: 'incident 7', roles: ['break-glass'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, as(admin.secret));
    const res = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') }, as(made.body.secret));
    expect(res.status).toBe(200);
    expect(await lastEvent()).toMatchObject({ principal: made.body.id, action: 'encrypt', breakGlass: true, reasons: ['break-glass-while-valid'] });
  });
});
