// npm run bench: the inventory at 1,000,000 keys in PostgreSQL (DATABASE_URL). Seeds a database of
// its own once (kept between runs: KMSGW_BENCH_RESEED=1 seeds again), then measures what the API
// does for (1) a filtered page of 100 keys, provider + state + tag, loaded whole as GET /v1/keys
// loads them, (2) an alias lookup, and (3) pages in the other sorts (first and a later page, by
// cursor), each against a primary-key lookup of one row measured in the same run as the baseline.
// Prints a table; writes .run/bench-inventory.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { openDatabase } from '../../src/db/client.ts';
import { BY_ID, findKeyIdByAlias, listKeyIds, loadKeyGraphs, sortValue, type After, type KeyFilter, type Sort } from '../../src/db/queries/keys.ts';

const KEYS = Number(process.env.BENCH_INVENTORY_KEYS ?? 1_000_000);
const SAMPLES = 2_000;
/** The sorted pages are many measures: fewer samples each. */
const SORT_SAMPLES = 400;
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set: npm run bench starts PostgreSQL');
const name = `kmsgw_bench_inventory_${KEYS}`;
const admin = postgres(url, { max: 1, onnotice: () => {} });
// Seeds before usage dates were part of the data set are seeded again.
const SEED = 2;
const exists = (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
const seeded = exists && (await admin`select description from pg_shdescription join pg_database d on d.oid = objoid where datname = ${name}`)[0]?.description === `seed ${SEED}`;
if (exists && (!seeded || process.env.KMSGW_BENCH_RESEED)) await admin.unsafe(`drop database ${name} with (force)`);
if (!exists || !seeded || process.env.KMSGW_BENCH_RESEED) await admin.unsafe(`create database ${name}`);
const target = new URL(url);
target.pathname = `/${name}`;
const database = await openDatabase({ url: target.toString() }, { maxConnections: 4 });
const sql = postgres(target.toString(), { max: 1, onnotice: () => {} });

const [count] = await sql<{ n: number }[]>`select count(*)::int as n from keys`;
if (count!.n < KEYS) {
  const t = performance.now();
  console.log(`seeding ${KEYS} keys (once; later runs reuse them)…`);
  // Five providers, eight states, 100 teams and 1,000 owners in tags: a filter on all three selects
  // about 1 key in 4,000, as a security team's "this team's disabled AWS keys" would.
  await sql.unsafe(`
    insert into keys (id, spec, usage, state, description, tags, origin, managed, connection, provider, current_version, extractable, never_extractable, sensitive, always_sensitive, created_at, updated_at, last_used_at, next_rotation_at)
    select 'key_' || lpad(to_hex(i), 26, '0'),
      (array['AES_256','RSA_2048','EC_P256','HMAC_256'])[1 + i % 4],
      (array['ENCRYPT_DECRYPT','SIGN_VERIFY','SIGN_VERIFY','MAC'])[1 + i % 4],
      (array['ACTIVE','ACTIVE','ACTIVE','SUSPENDED','DEACTIVATED','PRE_ACTIVE','PENDING_DELETION','DESTROYED'])[1 + (i / 5) % 8],
      '', jsonb_build_object('team', 'team-' || (i % 100), 'owner', 'owner-' || (i % 1000)),
      'GATEWAY', i % 10 <> 0, (array['local','aws-eu','azure-we','gcp-ew1','hsm'])[1 + i % 5], (array['local','aws','azure','gcp','pkcs11'])[1 + i % 5],
      1, false, true, true, true, now() - i * interval '1 minute', now(),
      -- two keys in three used, at spread times; one in four with a rotation date
      case when i % 3 <> 0 then now() - (i % 100000) * interval '1 minute' end,
      case when i % 4 = 0 then now() + (i % 50000) * interval '1 hour' end
    from generate_series(1, ${KEYS}) i`);
  await sql.unsafe(`insert into key_bindings (id, key_id, connection, provider, ref, role) select 'bnd_' || substr(id, 5), id, connection, provider, provider || ':' || id, 'primary' from keys`);
  await sql.unsafe(`insert into key_versions (key_id, version) select id, 1 from keys`);
  await sql.unsafe(`insert into binding_versions (binding_id, version, version_ref) select 'bnd_' || substr(id, 5), 1, provider || ':' || id || '/1' from keys`);
  await sql.unsafe(`insert into key_aliases (name, key_id) select 'alias-' || substr(id, 5), id from keys`);
  // Sets the visibility map too, as autovacuum would in time: a fresh bulk load otherwise reads the heap for every index hit.
  await sql.unsafe('vacuum analyze');
  await sql.unsafe(`comment on database ${name} is 'seed ${SEED}'`);
  console.log(`seeded in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
async function measure(fn: (i: number) => Promise<unknown>, samples = SAMPLES): Promise<ReturnType<typeof stats>> {
  for (let i = 0; i < Math.min(100, samples / 4); i++) await fn(i); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return stats(ms);
}

const db = database.db;
const id = (i: number) => `key_${(1 + ((i * 7919) % KEYS)).toString(16).padStart(26, '0')}`;
const baseline = await measure((i) => sql`select id from keys where id = ${id(i)}`);
const providers = ['local', 'aws', 'azure', 'gcp', 'pkcs11'];
const states = ['ACTIVE', 'SUSPENDED', 'DEACTIVATED'] as const;
const page = await measure(async (i) => {
  const ids = await listKeyIds(db, { provider: [providers[i % 5]!], state: [states[i % 3]!], tags: { team: `team-${i % 100}` } }, BY_ID, undefined, 101);
  return loadKeyGraphs(db, ids.slice(0, 100));
});
const pageSize = (await listKeyIds(db, { provider: ['aws'], state: ['ACTIVE'], tags: { team: 'team-1' } }, BY_ID, undefined, 101)).length;
const alias = await measure((i) => findKeyIdByAlias(db, `alias-${id(i).slice(4)}`));

/** A sorted page, first or following a cursor taken from a page fetched before the clock starts. */
async function sortedPages(filter: (i: number) => KeyFilter, sort: Sort) {
  const cursors: (After | undefined)[] = [];
  for (let i = 0; i < 20; i++) {
    const ids = await listKeyIds(db, filter(i), sort, undefined, 100 * (1 + i % 5));
    const last = (await loadKeyGraphs(db, ids.slice(-1)))[0]?.key;
    cursors.push(last && { id: last.id, value: sortValue(last, sort.field) });
  }
  const first = await measure(async (i) => loadKeyGraphs(db, (await listKeyIds(db, filter(i), sort, undefined, 101)).slice(0, 100)), SORT_SAMPLES);
  const later = await measure(async (i) => loadKeyGraphs(db, (await listKeyIds(db, filter(i % 20), sort, cursors[i % 20], 101)).slice(0, 100)), SORT_SAMPLES);
  return { first, later };
}
const filtered = (i: number): KeyFilter => ({ provider: [providers[i % 5]!], state: [states[i % 3]!], tags: { team: `team-${i % 100}` } });
const sorts = {
  'filtered, -createdAt': await sortedPages(filtered, { field: 'createdAt', descending: true }),
  'all keys, -lastUsedAt': await sortedPages(() => ({}), { field: 'lastUsedAt', descending: true }),
  'all keys, nextRotationAt': await sortedPages(() => ({}), { field: 'nextRotationAt', descending: false }),
  'one state, createdAt': await sortedPages((i) => ({ state: [states[i % 3]!] }), { field: 'createdAt', descending: false }),
};

const round = (x: number) => Math.round(x * 1000) / 1000;
const rows = [
  { measure: 'primary-key lookup of one row (baseline)', ...Object.fromEntries(Object.entries(baseline).map(([k, v]) => [`${k} ms`, round(v)])), ratio: 1 },
  { measure: `filtered page (provider+state+tag, ${pageSize > 100 ? 100 : pageSize} keys loaded whole)`, ...Object.fromEntries(Object.entries(page).map(([k, v]) => [`${k} ms`, round(v)])), ratio: round(page.p95 / baseline.p95), target: 'p95 ≤ 50 ms' },
  { measure: 'alias lookup', ...Object.fromEntries(Object.entries(alias).map(([k, v]) => [`${k} ms`, round(v)])), ratio: round(alias.p50 / baseline.p50), target: 'p50 ≤ 1 ms' },
  ...Object.entries(sorts).flatMap(([label, { first, later }]) => [
    { measure: `${label}: first page`, ...Object.fromEntries(Object.entries(first).map(([k, v]) => [`${k} ms`, round(v)])), ratio: round(first.p95 / baseline.p95) },
    { measure: `${label}: later page (cursor)`, ...Object.fromEntries(Object.entries(later).map(([k, v]) => [`${k} ms`, round(v)])), ratio: round(later.p95 / baseline.p95) },
  ]),
];
console.log(`\ninventory of ${KEYS} keys in PostgreSQL, ${SAMPLES} samples each (sorted pages ${SORT_SAMPLES}), one connection, ratios against the baseline`);
console.table(rows);
mkdirSync('.run', { recursive: true });
writeFileSync('.run/bench-inventory.json', JSON.stringify({ keys: KEYS, samples: SAMPLES, node: process.version, rows }, null, 2));
await sql.end();
await admin.end();
await database.close();
