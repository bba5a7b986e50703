// Governance rules end to end: a strict rule set refuses keys that break it (422, the rule, the
// field and the fix, nothing written), and when rules tighten over keys that already exist,
// GET /v1/compliance reports each of them while rotation and short deletion windows are refused.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { newApp } from '../src/http/app.ts';
import { newLogger } from '../src/log.ts';
import { openRuntime, type Runtime } from '../src/services.ts';
import { callApp, startGateway, type Reply, type TestGateway } from './support/gateway.ts';

const strict = {
  name: 'strict',
  description: 'CNSA 1.0 specs, yearly rotation, owner and classification tags, clean labels, 14-day deletion window',
  specs: { allowed: ['AES_256', 'RSA_3072', 'RSA_4096', 'EC_P384', 'HMAC_384', 'HMAC_512'] },
  rotation: { maxPeriodDays: 365, usages: ['ENCRYPT_DECRYPT'] },
  tags: { required: ['owner', 'data-classification'] },
  labels: { refuseSecrets: true, refusePersonalData: true },
  placement: { providers: ['local'], regions: ['eu-central'] },
  deletion: { minWindowDays: 14 },
};
const good = { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 90, tags: { owner: 'payments', 'data-classification': 'confidential' } };

// The default rules (lax) make the legacy keys; the strict instance shares their database.
let lax: TestGateway;
let strictRuntime: Runtime;
let call: (method: string, path: string, body?: unknown) => Promise<Reply>;
const legacy: Record<string, string> = {};

beforeAll(async () => {
  lax = await startGateway();
  legacy.rsa2048 = (await lax.call('POST', '/v1/keys', { spec: 'RSA_2048', usage: 'SIGN_VERIFY', tags: { owner: 'web', 'data-classification': 'internal' } })).body.id;
  legacy.untagged = (await lax.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', rotationPeriodDays: 30 })).body.id;
  legacy.aes = (await lax.call('POST', '/v1/keys', { ...good, rotationPeriodDays: 730 })).body.id;
  legacy.ok = (await lax.call('POST', '/v1/keys', good)).body.id;
  const file = join(lax.dataDir, 'strict.yaml');
  writeFileSync(file, stringify(strict));
  const configFile = join(lax.dataDir, 'config.yaml');
  writeFileSync(configFile, stringify({ governance: 'strict.yaml', connections: [{ name: 'local', provider: 'local', region: 'eu-central' }] }));
  strictRuntime = await openRuntime(loadConfig({ KMSGW_DATA_DIR: lax.dataDir, LOG_LEVEL: 'silent', KMSGW_CONFIG: configFile }), newLogger('silent'), lax.database);
  const app = newApp(strictRuntime.services);
  call = (method, path, body) => callApp(app, lax.secret, method, path, body);
});
afterAll(async () => {
  await strictRuntime.cache.stop();
  await strictRuntime.services.access.stop();
  await lax.close();
});

const keyCount = async () => (await call('GET', '/v1/keys?limit=1000')).body.keys.length;

describe('governance on create', () => {
  it('a key that keeps the rules is created', async () => {
    expect((await call('POST', '/v1/keys', good)).status).toBe(201);
  });

  it.each([
    ['a spec outside the allowed list', { ...good, spec: 'RSA_2048', usage: 'SIGN_VERIFY' }, 'spec', /specs: spec RSA_2048 is not allowed.*fix: use one of AES_256/],
    ['no rotation period', { ...good, rotationPeriodDays: undefined }, 'rotationPeriodDays', /rotation: the key has no rotation period \(fix: set rotationPeriodDays to 365 or less\)/],
    ['a rotation period over the maximum', { ...good, rotationPeriodDays: 400 }, 'rotationPeriodDays', /longer than 365/],
    ['a required tag missing', { ...good, tags: { owner: 'payments' } }, 'tags', /required tags missing: data-classification/],
    ['a tag holding an email address', { ...good, tags: { ...good.tags, contact: 'alice@example.com' } }, 'tags', /tag "contact" looks like personal data: an email address/],
    ['a tag holding an AWS secret key', { ...good, tags: { ...good.tags, aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3XAMPLEk' } }, 'tags', /looks like a secret/],
    ['an alias holding a card number', { ...good, aliases: ['card-4111111111111111'] }, 'aliases', /alias .* payment card number/],
    ['a description with an AWS access key id', { ...good, description: 'uses AKIAQ3EGRTZXWNBVL7PH' }, 'description', /description looks like a secret/],
  ])('%s is refused with 422, the field and the fix, and no key is made', async (_name, body, field, message) => {
    const before = await keyCount();
    const res = await call('POST', '/v1/keys', body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    expect(res.body.detail).toMatch(message);
    expect(await keyCount()).toBe(before);
  });

  it('every violation of a request is named at once', async () => {
    const res = await call('POST', '/v1/keys', { spec: 'HMAC_256', usage: 'MAC' });
    expect(res.body.detail).toMatch(/specs: .*tags: required tags missing: owner, data-classification/);
  });
});

describe('governance on change', () => {
  it('an update may not drop a required tag nor add a sensitive one', async () => {
    const key = (await call('POST', '/v1/keys', good)).body.id;
    expect((await call('PATCH', `/v1/keys/${key}`, { tags: { owner: null } })).body.detail).toMatch(/required tags missing: owner/);
    const res = await call('PATCH', `/v1/keys/${key}`, { tags: { reviewer: 'bob@example.com' } });
    expect(res.status).toBe(422);
    expect((await call('GET', `/v1/keys/${key}`)).body.tags).toEqual(good.tags);
    expect((await call('PATCH', `/v1/keys/${key}`, { tags: { team: 'cards' } })).status).toBe(200);
  });

  it('an unrelated update of a key that breaks a rule already is not blocked by that rule', async () => {
    expect((await call('PATCH', `/v1/keys/${legacy.aes}`, { description: 'yearly review done' })).status).toBe(200);
  });

  it('an alias that holds a payment card number is refused', async () => {
    const res = await call('POST', `/v1/keys/${legacy.ok}/aliases`, { name: 'refunds-4111-1111-1111-1111' });
    expect(res.status).toBe(422);
    expect(res.body.field).toBe('name');
  });

  it('rotating a key whose spec the rules no longer allow is refused: no new material in it', async () => {
    const res = await call('POST', `/v1/keys/${legacy.rsa2048}/rotate`);
    expect(res.status).toBe(422);
    expect((await call('GET', `/v1/keys/${legacy.rsa2048}`)).body.currentVersion).toBe(1);
    expect((await call('POST', `/v1/keys/${legacy.ok}/rotate`)).status).toBe(200);
  });

  it('a deletion window shorter than the minimum is refused; the minimum is accepted', async () => {
    const key = (await call('POST', '/v1/keys', good)).body.id;
    const res = await call('POST', `/v1/keys/${key}/schedule-deletion`, { pendingDays: 7 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ field: 'pendingDays' });
    expect((await call('GET', `/v1/keys/${key}`)).body.state).toBe('ACTIVE');
    expect((await call('POST', `/v1/keys/${key}/schedule-deletion`, { pendingDays: 14 })).status).toBe(200);
  });
});

describe('GET /v1/compliance', () => {
  const all = async (query = '') => {
    const findings = [];
    let cursor = '';
    let pages = 0;
    do {
      const res = await call('GET', `/v1/compliance?limit=2${query}${cursor && `&cursor=${cursor}`}`);
      expect(res.status).toBe(200);
      findings.push(...res.body.findings);
      cursor = res.body.nextCursor ?? '';
      pages += 1;
    } while (cursor);
    return { findings, pages };
  };

  it('reports every key that breaks the rules in force, with the rule and the fix, page by page', async () => {
    const { findings, pages } = await all();
    expect(pages).toBeGreaterThan(2);
    const of = (key: string) => findings.filter((f) => f.keyId === key).map((f) => f.rule).sort();
    expect(of(legacy.rsa2048!)).toEqual(['specs']);
    expect(of(legacy.untagged!)).toEqual(['tags']);
    expect(of(legacy.aes!)).toEqual(['rotation']);
    expect(of(legacy.ok!)).toEqual([]);
    expect(findings.find((f) => f.keyId === legacy.aes)).toMatchObject({ message: 'a rotation period of 730 days is longer than 365', fix: 'set rotationPeriodDays to 365 or less' });
  });

  it('the CNSA 2.0 readiness report flags quantum-vulnerable keys only', async () => {
    const res = await call('GET', '/v1/compliance?standard=cnsa-2.0&limit=1000');
    expect(res.body.standard).toBe('cnsa-2.0');
    expect(res.body.findings.map((f: { keyId: string }) => f.keyId)).toEqual([legacy.rsa2048]);
    expect(res.body.findings[0].fix).toMatch(/ML-DSA-87/);
  });

  it('an unknown standard is 404 naming the known ones', async () => {
    const res = await call('GET', '/v1/compliance?standard=fips-9000');
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/known: cnsa-1.0, cnsa-2.0, default, strict/);
  });

  it('auditors read the report; crypto users do not', async () => {
    const auditor = await lax.apiKey(['auditor']);
    const user = await lax.apiKey(['crypto-user']);
    expect((await lax.call('GET', '/v1/compliance', undefined, { authorization: `Bearer ${auditor.secret}` })).status).toBe(200);
    expect((await lax.call('GET', '/v1/compliance', undefined, { authorization: `Bearer ${user.secret}` })).status).toBe(403);
  });
});
