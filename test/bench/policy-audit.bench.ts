// npm run bench: what access control and audit cost. (1) One Cedar decision uncached and through
// the per-key decision cache, against one AES-256-GCM encryption of 4 KiB measured in the same run.
// (2) Audit throughput with group commit against one transaction per event, 50 concurrent writers,
// on PostgreSQL (DATABASE_URL) and on PGlite. Prints a table; writes .run/bench-policy-audit.json.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { Access, keyResource } from '../../src/policy/access.ts';
import { RateLimits } from '../../src/policy/rate-limits.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { newId } from '../../src/ids.ts';
import type { KeyGraph } from '../../src/db/queries/keys.ts';
import type { Actor } from '../../src/keys/model.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function perCall(fn: () => void, n: number): number {
  for (let i = 0; i < n / 10; i++) fn(); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t) * 1000) / n;
}

// (1) decisions
const engine = new PolicyEngine();
// The per-key rate limit is on, high enough never to refuse: its bucket is part of the cached path.
const access = new Access(engine, undefined as never, new RateLimits({ perPrincipal: { requests: 1e7, perSeconds: 1 }, perKey: { requests: 1e7, perSeconds: 1 } }));
const graph = {
  key: { id: 'key_01jd0000000000000000000000', spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', state: 'ACTIVE', origin: 'GATEWAY', connection: 'local', provider: 'local', extractable: false, tags: { 'kmsgw:users': 'payments' } },
  aliases: [], bindings: [{ role: 'primary', connection: 'local', provider: 'local' }],
} as unknown as KeyGraph;
const identity = { principal: 'ak_01jd0000000000000000000001', name: 'bench', authMethod: 'api-key' as const, roles: ['crypto-user'], groups: ['payments'] };
const actor = (): Actor => ({ identity, requestId: 'req', operation: 'encrypt', record: {} });
const key = randomBytes(32), data = randomBytes(4096);
const aesUs = perCall(() => { const c = createCipheriv('aes-256-gcm', key, randomBytes(12)); c.update(data); c.final(); c.getAuthTag(); }, 20_000);
const uncachedUs = perCall(() => engine.decide(identity, 'encrypt', keyResource(graph), { now: new Date(), approvals: 0 }), 5_000);
const cachedUs = perCall(() => access.checkKey(actor(), graph), 200_000);

// (2) audit
const event = () => ({
  id: newId('aud'), at: new Date(), requestId: newId('req'), principal: identity.principal, authMethod: 'api-key', action: 'encrypt', route: 'POST /v1/keys/:key/encrypt',
  keyId: graph.key.id, keyVersion: 1, connection: 'local', decision: 'allow' as const, reasons: ['crypto-user-uses-its-keys'], status: 200, outcome: 'OK', breakGlass: false, detail: {},
});

async function auditRate(database: Database, maxBatch: number): Promise<number> {
  const log = new AuditLog(database.db, { maxBatch });
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 50 }, async () => { while (performance.now() < end) { await log.append(event()); n++; } }));
  return n / ((performance.now() - t0) / 1000);
}

const audit: Record<string, { single: number; group: number }> = {};
if (process.env.DATABASE_URL) {
  const name = `kmsgw_bench_${Date.now().toString(36)}`;
  const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = `/${name}`;
  const pg = await openDatabase({ url: u.toString() }, { maxConnections: 10 });
  audit.postgres = { single: await auditRate(pg, 1), group: await auditRate(pg, 1000) };
  await pg.close();
  await admin.unsafe(`drop database ${name} with (force)`);
  await admin.end();
}
const lite = await openDatabase({ pglite: 'memory://' });
audit.pglite = { single: await auditRate(lite, 1), group: await auditRate(lite, 1000) };
await lite.close();

const rows = [
  { measure: 'AES-256-GCM 4 KiB (baseline)', 'µs': +aesUs.toFixed(2), 'vs baseline': 1 },
  { measure: 'Cedar decision, uncached', 'µs': +uncachedUs.toFixed(2), 'vs baseline': +(uncachedUs / aesUs).toFixed(2) },
  { measure: 'access check, cached (per key, ≤1 s)', 'µs': +cachedUs.toFixed(2), 'vs baseline': +(cachedUs / aesUs).toFixed(2) },
];
console.table(rows);
const auditRows = Object.entries(audit).map(([db, r]) => ({ database: db, 'events/s one per txn': Math.round(r.single), 'events/s group commit': Math.round(r.group), 'group/single': +(r.group / r.single).toFixed(2) }));
console.table(auditRows);
mkdirSync('.run', { recursive: true });
writeFileSync('.run/bench-policy-audit.json', JSON.stringify({ seconds: SECONDS, node: process.version, decisions: rows, audit: auditRows }, null, 2));
