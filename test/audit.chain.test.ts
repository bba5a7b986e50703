// The audit trail: every request becomes one event in a hash chain, committed before the reply;
// rows cannot be changed through SQL, and one changed or deleted anyway breaks the chain exactly there.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { startGateway, b64, type TestGateway } from './support/gateway.ts';
import { verifyAuditChain } from '../src/audit/verify.ts';
import { auditEvents } from '../src/db/schema/index.ts';
import { AuditLog } from '../src/audit/log.ts';
import type { AuditEvent } from '../src/audit/chain.ts';
import { auditOperatorAction } from '../src/audit/operator.ts';
import { auditHead, insertAuditEvents, lockAuditChain } from '../src/db/queries/audit.ts';
import { newId } from '../src/ids.ts';

let gw: TestGateway;
let key: string;
let auditor: { secret: string };

beforeAll(async () => {
  gw = await startGateway();
  auditor = await gw.apiKey(['auditor']);
  key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
});
afterAll(async () => { await gw.close(); });

const event = (): AuditEvent => ({
  id: newId('aud'), at: new Date(), requestId: newId('req'), principal: 'ak_test', authMethod: 'api-key', action: 'encrypt', route: 'POST /v1/keys/:key/encrypt',
  keyId: null, keyVersion: null, connection: null, decision: 'allow', reasons: [], status: 200, outcome: 'OK', breakGlass: false, detail: {},
});
const count = async () => (await gw.database.db.select({ n: sql<number>`count(*)::int` }).from(auditEvents))[0]!.n;
/** What a database administrator could do: switch the append-only trigger off, change rows, switch it on. */
const tamper = async (target: TestGateway, statement: string) => {
  await target.database.db.execute(sql.raw('alter table audit_events disable trigger user'));
  await target.database.db.execute(sql.raw(statement));
  await target.database.db.execute(sql.raw('alter table audit_events enable trigger user'));
};

describe('audit trail', () => {
  it('every request, allowed or denied, is one event, in the store before the reply', async () => {
    const before = await count();
    await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('one') });
    expect(await count()).toBe(before + 1);
    await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('two') }, { authorization: `Bearer ${auditor.secret}` });
    expect(await count()).toBe(before + 2);
    await gw.call('GET', '/healthz');
    expect(await count()).toBe(before + 2);
  });

  it('an event names who, what, which key and version, the decision and outcome, and holds no data', async () => {
    const secret = 'the quick brown fox';
    const ct = (await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64(secret), context: { tenant: 'acme' } })).body.ciphertext;
    await gw.call('POST', '/v1/decrypt', { ciphertext: ct, context: { tenant: 'acme' } });
    const res = await gw.call('GET', '/v1/audit/events?action=decrypt', undefined, { authorization: `Bearer ${auditor.secret}` });
    expect(res.status).toBe(200);
    expect(res.body.events.at(-1)).toMatchObject({
      principal: gw.principal, authMethod: 'api-key', action: 'decrypt', route: 'POST /v1/decrypt', keyId: key, keyVersion: 1, connection: 'local',
      decision: 'allow', reasons: ['test-uses-every-key'], status: 200, outcome: 'OK', breakGlass: false,
    });
    const all = JSON.stringify((await gw.call('GET', '/v1/audit/export?format=jsonl', undefined, { authorization: `Bearer ${auditor.secret}` })).body);
    expect(all).not.toContain(b64(secret));
    expect(all).not.toContain(ct.slice(0, 40));
    expect(all).not.toContain('acme');
  });

  it('concurrent requests extend one unbroken chain', async () => {
    const before = await count();
    await Promise.all(Array.from({ length: 100 }, (_, i) => gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64(`m${i}`) })));
    expect(await count()).toBe(before + 100);
    const report = await verifyAuditChain(gw.database.db);
    expect(report).toMatchObject({ valid: true, events: before + 100 });
  });

  it('writers sharing the database (instances, operator commands) extend one chain, however they interleave', async () => {
    const before = await count();
    const ok = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('before') });
    // An operator command appends after the head this gateway last wrote, which it does not know.
    await auditOperatorAction(gw.database.db, 'cli:test', 'api-keys create', {});
    const after = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('after') });
    expect([ok.status, after.status]).toEqual([200, 200]);
    // Two more writers, as two instances would be, racing each other and the gateway.
    const others = [new AuditLog(gw.database.db), new AuditLog(gw.database.db)];
    await Promise.all([
      ...others.flatMap((log) => Array.from({ length: 25 }, () => log.append(event()))),
      ...Array.from({ length: 10 }, (_, i) => gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64(`r${i}`) })),
    ]);
    expect(await count()).toBe(before + 3 + 50 + 10);
    expect(await verifyAuditChain(gw.database.db)).toMatchObject({ valid: true, events: before + 63 });
  });

  it('a writer under the chain\'s lock appends after the head it read, whatever the other writers do meanwhile', async () => {
    const log = new AuditLog(gw.database.db);
    await log.append(event()); // from now on, this writer knows the head
    let raced: Promise<void> | undefined;
    await gw.database.db.transaction(async (tx) => {
      await lockAuditChain(tx);
      const head = await auditHead(tx);
      raced = log.append(event());
      await new Promise((r) => setTimeout(r, 300)); // ample time for the other writer's one statement
      await insertAuditEvents(tx, [event()], head!);
    });
    await raced;
    expect(await verifyAuditChain(gw.database.db)).toMatchObject({ valid: true, events: await count() });
  });

  it('events queued in one turn of the event loop are written by one statement', async () => {
    const log = new AuditLog(gw.database.db);
    await log.append(event()); // the first batch learns the chain's head
    const statements = vi.spyOn(gw.database.db, 'execute');
    try {
      // As requests read in one turn would: each event queued by its own callback.
      await Promise.all(Array.from({ length: 10 }, () => new Promise<void>((resolve, reject) => setImmediate(() => log.append(event()).then(resolve, reject)))));
      expect(statements).toHaveBeenCalledTimes(1);
    } finally {
      statements.mockRestore();
    }
  });

  it('exports as JSON lines and as RFC 5424 syslog', async () => {
    const h = { authorization: `Bearer ${auditor.secret}` };
    const jsonl = (await gw.call('GET', '/v1/audit/export?format=jsonl', undefined, h)).body as string;
    const lines = jsonl.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const syslog = (await gw.call('GET', '/v1/audit/export?format=syslog', undefined, h)).body as string;
    expect(syslog.split('\n')[0]).toMatch(/^<8[56]>1 \d{4}-\d\d-\d\dT[\d:.]+Z \S+ kms-gateway - \S+ \[audit@32473 seq="1" /);
  });

  it('rows cannot be updated, deleted or truncated through SQL', async () => {
    for (const statement of ['update audit_events set principal = \'x\' where seq = 1', 'delete from audit_events where seq = 1', 'truncate audit_events']) {
      const err = await gw.database.db.execute(sql.raw(statement)).then(() => undefined, (e: Error) => e);
      expect(String((err?.cause as Error | undefined)?.message ?? err?.message)).toMatch(/append-only/);
    }
  });

  it('a row changed directly in the database breaks the chain at exactly that row', async () => {
    expect((await verifyAuditChain(gw.database.db)).valid).toBe(true);
    await tamper(gw, 'update audit_events set decision = \'allow\', status = 200 where seq = 3');
    expect(await verifyAuditChain(gw.database.db)).toMatchObject({ valid: false, events: 2, brokenAt: { seq: 3, problem: expect.stringContaining('changed') } });
    const api = await gw.call('GET', '/v1/audit/verify', undefined, { authorization: `Bearer ${auditor.secret}` });
    expect(api.body).toMatchObject({ valid: false, brokenAt: { seq: 3 } });
  });

  it('the newest rows cut from the chain while the gateway runs break it at the first of them', async () => {
    const fresh = await startGateway();
    try {
      for (let i = 0; i < 6; i++) await fresh.call('GET', '/v1/keys');
      await tamper(fresh, 'delete from audit_events where seq >= 5');
      await fresh.call('GET', '/v1/keys');
      expect(await verifyAuditChain(fresh.database.db)).toMatchObject({ valid: false, events: 4, brokenAt: { seq: 5, problem: expect.stringContaining('missing') } });
    } finally {
      await fresh.close();
    }
  });

  it('a row deleted directly in the database breaks the chain at exactly that row', async () => {
    const fresh = await startGateway();
    try {
      for (let i = 0; i < 6; i++) await fresh.call('GET', '/v1/keys');
      await tamper(fresh, 'delete from audit_events where seq = 4');
      expect(await verifyAuditChain(fresh.database.db)).toMatchObject({ valid: false, events: 3, brokenAt: { seq: 4, problem: expect.stringContaining('missing') } });
    } finally {
      await fresh.close();
    }
  });
});
