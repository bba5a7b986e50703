// The inventory's search, export, usage statistics, dashboard figures and metrics, on a gateway
// with keys in two regions: every filter narrows to exactly the keys it names, every sort walks
// all keys once in its order across pages, the export holds what the search finds, and usage is
// counted per key and per provider and hour without the hot path writing anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { finished } from './support/inventory.ts';

let gw: TestGateway;
const ids: Record<string, string> = {};

beforeAll(async () => {
  gw = await startGateway({ config: {
    connections: [{ name: 'local', provider: 'local', region: 'eu-west-1' }, { name: 'vault', provider: 'local', region: 'us-east-1' }],
  } });
  const make = async (name: string, body: Record<string, unknown>) => {
    const res = await gw.call('POST', '/v1/keys', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids[name] = res.body.id;
  };
  await make('payments', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { owner: 'payments', team: 'a' }, rotationPeriodDays: 30 });
  await make('ledger', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { owner: 'ledger' }, connection: 'vault' });
  await make('signing', { spec: 'EC_P256', usage: 'SIGN_VERIFY', tags: { owner: 'payments' } });
  await make('replicated', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', replicas: ['vault'], rotationPeriodDays: 90 });
  await make('idle', { spec: 'HMAC_256', usage: 'MAC' });
  await gw.call('POST', `/v1/keys/${ids.idle}/suspend`);
  for (let i = 0; i < 3; i++) await gw.call('POST', `/v1/keys/${ids.payments}/encrypt`, { plaintext: b64(`p${i}`) });
  await gw.call('POST', `/v1/keys/${ids.ledger}/encrypt`, { plaintext: b64('l') });
  expect((await gw.call('POST', `/v1/keys/${ids.signing}/sign`, { message: b64('m'), algorithm: 'ECDSA_SHA_256' })).status).toBe(200);
  await gw.runtime.services.usage.flush();
});
afterAll(async () => { await gw.close(); });

const search = async (query: string) => {
  const res = await gw.call('GET', `/v1/keys?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { keys: any[]; nextCursor: string | null };
};
const names = (keys: any[]) => keys.map((k) => Object.entries(ids).find(([, id]) => id === k.id)![0]).sort();

describe('inventory search', () => {
  it('filters by region, owner, replica health and use', async () => {
    expect(names((await search('region=us-east-1')).keys)).toEqual(['ledger']);
    expect(names((await search('region=eu-west-1')).keys)).toEqual(['idle', 'payments', 'replicated', 'signing']);
    expect((await search('region=mars-1')).keys).toEqual([]);
    expect(names((await search('owner=payments')).keys)).toEqual(['payments', 'signing']);
    expect(names((await search('replicas=healthy')).keys)).toEqual(['replicated']);
    expect(names((await search('replicas=none')).keys)).toEqual(['idle', 'ledger', 'payments', 'signing']);
    expect((await search('replicas=degraded')).keys).toEqual([]);
    expect(names((await search(`unusedSince=${new Date(Date.now() + 60_000).toISOString()}`)).keys)).toEqual(Object.keys(ids).sort());
    expect(names((await search(`unusedSince=${new Date(Date.now() - 3_600_000).toISOString()}`)).keys)).toEqual(['idle', 'replicated']);
    expect(names((await search('owner=payments&state=ACTIVE&spec=EC_P256')).keys)).toEqual(['signing']);
  });

  it('takes several values of a filter as any of them, and more than 20 as a bad request', async () => {
    expect(names((await search('spec=EC_P256&spec=HMAC_256')).keys)).toEqual(['idle', 'signing']);
    expect(names((await search('state=SUSPENDED&state=ACTIVE&usage=MAC')).keys)).toEqual(['idle']);
    expect(names((await search('connection=vault&connection=nowhere')).keys)).toEqual(['ledger']);
    expect(names((await search('spec=EC_P256&owner=payments&state=ACTIVE')).keys)).toEqual(['signing']);
    const many = await gw.call('GET', `/v1/keys?${Array.from({ length: 21 }, () => 'state=ACTIVE').join('&')}`);
    expect(many.status).toBe(400);
    expect(many.body.field).toBe('state');
    const bad = await gw.call('GET', '/v1/keys?state=ACTIVE&state=ACTIVATED');
    expect(bad.body).toMatchObject({ status: 400, field: 'state', detail: expect.stringContaining('expected one of') });
  });

  const SORTS = ['id', '-id', 'createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'nextRotationAt', '-nextRotationAt', 'spec', '-state', 'connection'];
  /** Every key a search finds, walked a page of one at a time. */
  async function walk(sort: string, filter = '') {
    const seen: any[] = [];
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page = await search(`sort=${sort}&limit=1${filter}${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.keys);
      cursor = page.nextCursor;
      expect(pages).toBeLessThan(10);
    }
    return seen;
  }

  it('walks every sort across pages of one, each key once and in order, keys without a value last', async () => {
    for (const sort of SORTS) {
      const seen = await walk(sort);
      expect(seen.map((k) => k.id).sort(), sort).toEqual(Object.values(ids).sort());
      const field = sort.replace('-', '');
      const values = seen.map((k) => k[field] as string | null);
      const present = values.filter((v) => v !== null);
      expect(values.slice(present.length).every((v) => v === null), `${sort}: keys without a value come last`).toBe(true);
      const ordered = [...present].sort();
      expect(present, sort).toEqual(sort.startsWith('-') ? ordered.reverse() : ordered);
    }
  });

  it('walks every sort under a tag filter in the same order (matches few enough are ordered among themselves)', async () => {
    for (const sort of SORTS) {
      const all = (await walk(sort)).map((k) => k.id);
      const tagged = (await walk(sort, '&owner=payments')).map((k) => k.id);
      expect(tagged, sort).toEqual(all.filter((id) => id === ids.payments || id === ids.signing));
    }
  });

  it('refuses a cursor from another sort, and a made-up one', async () => {
    const { nextCursor } = await search('sort=createdAt&limit=1');
    const other = await gw.call('GET', `/v1/keys?sort=spec&cursor=${nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cursor' });
    expect((await gw.call('GET', '/v1/keys?cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect((await gw.call('GET', '/v1/keys?sort=colour')).status).toBe(400);
  });

  it('finds keys by compliance finding', async () => {
    // The shipped rules require no tag; a key with a personal-data label breaks the labels rule.
    await gw.runtime.services.database.db.execute(`update keys set description = 'contact jane.doe@example.com' where id = '${ids.ledger}'` as never);
    expect(names((await search('finding=labels')).keys)).toEqual(['ledger']);
    expect((await search('finding=specs')).keys).toEqual([]);
  });
});

describe('inventory export', () => {
  it('exports what the search finds as CSV with a header, and as JSON lines', async () => {
    const csv = await gw.app.request('/v1/inventory/export?format=csv&owner=payments&sort=createdAt', { headers: { authorization: `Bearer ${gw.secret}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toContain('kmsgw-inventory.csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('id,aliases,spec,usage,state,managed,origin,provider,connection,region,owner,tags,currentVersion,rotationPeriodDays,nextRotationAt,lastUsedAt,replicas,bindings,createdAt,updatedAt');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([ids.payments, ids.signing]);
    expect(lines[1]).toContain(',payments,"{'); // the owner column, then the tags as one quoted JSON field
    expect(lines[1]).toContain('""owner"":""payments""');
    const jsonl = await gw.app.request('/v1/inventory/export?format=jsonl', { headers: { authorization: `Bearer ${gw.secret}` } });
    const rows = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id).sort()).toEqual(Object.values(ids).sort());
    expect(rows.find((r) => r.id === ids.replicated)).toMatchObject({ replicas: 1, region: 'eu-west-1', managed: true });
  });
});

describe('usage statistics', () => {
  it('counts each use per key and operation, and the last use', async () => {
    const usage = await gw.call('GET', `/v1/keys/${ids.payments}/usage`);
    expect(usage.body).toMatchObject({ keyId: ids.payments, operations: [{ operation: 'encrypt', count: 3 }] });
    expect(usage.body.lastUsedAt).toBe(usage.body.operations[0].lastUsedAt);
    expect((await gw.call('GET', `/v1/keys/${ids.idle}/usage`)).body).toMatchObject({ lastUsedAt: null, operations: [] });
    // Management calls are not uses.
    await gw.call('GET', `/v1/keys/${ids.idle}`);
    await gw.runtime.services.usage.flush();
    expect((await gw.call('GET', `/v1/keys/${ids.idle}/usage`)).body.operations).toEqual([]);
  });

  it('adds up when flushed again, and refuses what failed', async () => {
    await gw.call('POST', `/v1/keys/${ids.payments}/encrypt`, { plaintext: b64('again') });
    await gw.call('POST', `/v1/keys/${ids.idle}/generate-mac`, { message: b64('refused: suspended') });
    await gw.runtime.services.usage.flush();
    expect((await gw.call('GET', `/v1/keys/${ids.payments}/usage`)).body.operations).toMatchObject([{ operation: 'encrypt', count: 4 }]);
    expect((await gw.call('GET', `/v1/keys/${ids.idle}/usage`)).body.operations).toEqual([]);
  });
});

describe('dashboard and metrics', () => {
  it('sums keys by provider and state, rotations due, and operations per provider by the hour', async () => {
    const summary = (await gw.call('GET', '/v1/inventory/summary')).body;
    expect(summary.keys).toEqual(expect.arrayContaining([
      { provider: 'local', state: 'ACTIVE', managed: true, keys: 4 },
      { provider: 'local', state: 'SUSPENDED', managed: true, keys: 1 },
    ]));
    expect(summary.rotation).toEqual({ overdue: 0, next30Days: 1 });
    expect(summary.drift).toBe(0);
    expect(summary.operations.reduce((n: number, o: any) => n + o.count, 0)).toBe(6);
    expect(summary.operations.every((o: any) => o.provider === 'local')).toBe(true);
  });

  it('a compliance scan checks every key and its findings by rule reach the summary and the metrics', async () => {
    expect((await gw.call('GET', '/v1/inventory/summary')).body.findings).toBeNull();
    // The ledger key's description names a person: the labels rule.
    await gw.runtime.services.database.db.execute(`update keys set description = 'contact jane.doe@example.com' where id = '${ids.ledger}'` as never);
    const crypto = await gw.apiKey(['crypto-user']);
    expect((await gw.call('POST', '/v1/compliance/scan', undefined, { authorization: `Bearer ${crypto.secret}` })).status).toBe(403);
    const started = await gw.call('POST', '/v1/compliance/scan');
    expect(started.status).toBe(202);
    expect((await gw.call('POST', '/v1/compliance/scan')).body.id).toBe(started.body.id);
    await gw.runtime.jobs.start();
    const job = await finished(gw, started.body.id);
    expect(job.progress).toMatchObject({ scanned: 5, keys: 1, 'finding:labels': 1 });
    const { findings } = (await gw.call('GET', '/v1/inventory/summary')).body;
    expect(findings).toMatchObject({ jobId: job.id, scanned: 5, keys: 1, byRule: [{ rule: 'labels', keys: 1 }] });
    const text = await (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
    expect(text).toMatch(/^kmsgw_compliance_findings_keys\{rule="labels"\} 1$/m);
    // The schedule queues the next scan only once its period has run since the last.
    expect(await gw.runtime.services.inventory.scanDue(3_600_000)).toBeUndefined();
    const next = await gw.runtime.services.inventory.scanDue(0);
    expect(next).toMatchObject({ kind: 'compliance-scan', createdBy: 'system:schedule' });
    await finished(gw, next!.id);
  });

  it('serves Prometheus metrics to auditors, not to crypto users', async () => {
    const auditor = await gw.apiKey(['auditor']);
    const res = await gw.app.request('/metrics', { headers: { authorization: `Bearer ${auditor.secret}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^kmsgw_keys\{provider="local",state="ACTIVE",managed="true"\} 4$/m);
    expect(text).toMatch(/^kmsgw_requests_total\{operation="encrypt",code="200"\} \d+$/m);
    expect(text).toMatch(/^kmsgw_connection_circuit\{connection="vault",provider="local"\} 0$/m);
    const user = await gw.apiKey(['crypto-user']);
    expect((await gw.app.request('/metrics', { headers: { authorization: `Bearer ${user.secret}` } })).status).toBe(403);
  });
});

// Last: the key it makes would change the counts above.
describe('inventory export of hostile metadata', () => {
  it('writes no cell a spreadsheet would run as a formula; JSON lines keep the value as it is', async () => {
    const owner = '=HYPERLINK("https://attacker.example","open")';
    const k = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { owner } })).body;
    const exported = async (format: string) => (await gw.app.request(`/v1/inventory/export?format=${format}&owner=${encodeURIComponent(owner)}`, { headers: { authorization: `Bearer ${gw.secret}` } })).text();
    const line = (await exported('csv')).trim().split('\n')[1]!;
    expect(line.startsWith(`${k.id},`)).toBe(true);
    expect(line).toContain(`,"'=HYPERLINK(""https://attacker.example"",""open"")",`);
    expect(JSON.parse(await exported('jsonl'))).toMatchObject({ owner });
  });
});
