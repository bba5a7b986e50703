// npm run bench: backup and restore of a large inventory in PostgreSQL (DATABASE_URL), under backup
// keys on AWS (moto, AWS_ENDPOINT_URL). Seeds a database of its own once (kept between runs:
// KMSGW_BENCH_RESEED=1 seeds again) with BENCH_BACKUP_KEYS keys as discovery leaves them (a binding,
// a version, an alias and an event each). Runs `kmsgw backup create` and `kmsgw backup restore` as
// an operator does, each in its own process, for its wall time and peak memory (GNU time), against
// pg_dump and psql moving the same tables in the same run. Prints a table; writes .run/bench-backup.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { stringify } from 'yaml';
import { startGateway } from './servers.ts';

const KEYS = Number(process.env.BENCH_BACKUP_KEYS ?? 1_000_000);
const url = process.env.DATABASE_URL;
const endpoint = process.env.AWS_ENDPOINT_URL;
if (!url || !endpoint) throw new Error('DATABASE_URL and AWS_ENDPOINT_URL must be set: npm run bench starts PostgreSQL and moto');
const TABLES = ['keys', 'key_versions', 'key_bindings', 'binding_versions', 'key_aliases', 'key_events', 'envelope_repairs', 'policies'];

const admin = postgres(url, { max: 1, onnotice: () => {} });
const dbUrl = (name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();
const source = `kmsgw_bench_backup_${KEYS}`;
const SEED = 1;
const exists = async (name: string) => (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
const seeded = (await exists(source)) && (await admin`select description from pg_shdescription join pg_database d on d.oid = objoid where datname = ${source}`)[0]?.description === `seed ${SEED}`;
const fresh = async (name: string) => {
  if (await exists(name)) await admin.unsafe(`drop database ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
};
if (!seeded || process.env.KMSGW_BENCH_RESEED) await fresh(source);

const dir = mkdtempSync(join(tmpdir(), 'kmsgw-bench-backup-'));
const configFile = join(dir, 'config.yaml');
writeFileSync(configFile, stringify({ connections: [{ name: 'local', provider: 'local' }, { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'us-east-1', endpoint }] }));
const env = (database: string) => ({ ...process.env, DATABASE_URL: dbUrl(database), KMSGW_CONFIG: configFile, KMSGW_DATA_DIR: dir, LOG_LEVEL: 'silent' });

// The backup keys, made through the API (which migrates the database first) on AWS, by a bootstrap
// administrator: the bench's database keeps no API keys between runs.
const sql = postgres(dbUrl(source), { max: 1, onnotice: () => {} });
if (seeded) await sql`delete from api_keys`;
const gateway = await startGateway({ DATABASE_URL: dbUrl(source), KMSGW_CONFIG: configFile, KMSGW_DATA_DIR: dir });
const encryptionKey = await gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
const signingKey = await gateway.createKey({ spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' });
gateway.child.kill();

if (!seeded || process.env.KMSGW_BENCH_RESEED) {
  const t = performance.now();
  console.log(`seeding ${KEYS} keys (once; later runs reuse them)…`);
  await sql.unsafe(`
    insert into keys (id, spec, usage, state, description, tags, origin, managed, connection, provider, current_version, extractable, never_extractable, sensitive, always_sensitive)
    select 'key_seed' || lpad(i::text, 22, '0'), 'AES_256', 'ENCRYPT_DECRYPT', (array['ACTIVE','SUSPENDED','PENDING_DELETION'])[1 + i % 3],
      '', jsonb_build_object('team', 'team-' || (i % 100), 'owner', 'owner-' || (i % 1000)), 'GATEWAY', false, 'aws', 'aws', 1, false, true, true, true
    from generate_series(1, ${KEYS}) i`);
  const ref = "'aws:arn:aws:kms:us-east-1:000000000000:key/' || substr(id, 9)";
  await sql.unsafe(`insert into key_bindings (id, key_id, connection, provider, ref, role) select 'bnd_' || substr(id, 5), id, 'aws', 'aws', ${ref}, 'primary' from keys where id like 'key_seed%'`);
  await sql.unsafe("insert into key_versions (key_id, version) select id, 1 from keys where id like 'key_seed%'");
  await sql.unsafe(`insert into binding_versions (binding_id, version, version_ref) select 'bnd_' || substr(id, 5), 1, ${ref} from keys where id like 'key_seed%'`);
  await sql.unsafe("insert into key_aliases (name, key_id) select 'alias-' || substr(id, 5), id from keys where id like 'key_seed%'");
  await sql.unsafe("insert into key_events (id, key_id, type, actor, detail) select 'evt_' || substr(id, 5), id, 'DISCOVERED', 'discovery', '{\"connection\":\"aws\"}' from keys where id like 'key_seed%'");
  await sql.unsafe('vacuum analyze');
  await sql.unsafe(`comment on database ${source} is 'seed ${SEED}'`);
  console.log(`seeded in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
const [{ total }] = await sql<[{ total: number }]>`select count(*)::int as total from keys`;
await sql.end();

/** Runs a command under GNU time: its wall seconds and peak resident memory (MiB). */
function timed(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; shell?: boolean } = {}): { seconds: number; peakMiB: number } {
  const out = join(dir, 'time.txt');
  execFileSync('/usr/bin/time', ['-f', '%e %M', '-o', out, command, ...args], { env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'inherit'] });
  const [seconds, kib] = readFileSync(out, 'utf8').trim().split(/\s+/).map(Number);
  return { seconds: seconds!, peakMiB: Math.round(kib! / 1024) };
}
const kmsgw = (database: string, ...args: string[]) => timed(process.execPath, ['--import', 'tsx', 'src/cli/kmsgw.ts', ...args], { env: env(database) });

const bundle = join(dir, 'bundle.kmsgw');
const dump = join(dir, 'dump.sql.gz');
const tableArgs = TABLES.flatMap((t) => ['-t', t]).join(' ');
const pgDump = timed('bash', ['-c', `pg_dump ${tableArgs} '${dbUrl(source)}' | gzip -1 > '${dump}'`]);
const backup = kmsgw(source, 'backup', 'create', '--encryption-key', encryptionKey, '--signing-key', signingKey, '--out', bundle);

const target = `kmsgw_bench_backup_restore`;
const plain = `kmsgw_bench_backup_psql`;
await fresh(plain);
const psql = timed('bash', ['-c', `gunzip -c '${dump}' | psql -q -v ON_ERROR_STOP=1 --single-transaction '${dbUrl(plain)}' > /dev/null`]);
await fresh(target);
const restore = kmsgw(target, 'backup', 'restore', bundle);
const restored = postgres(dbUrl(target), { max: 1, onnotice: () => {} });
const [{ n }] = await restored<[{ n: number }]>`select count(*)::int as n from keys`;
await restored.end();
if (n !== total) throw new Error(`the restore brought ${n} keys back, not ${total}`);

const size = (file: string) => Math.round(statSync(file).size / 1024 / 1024);
const rows = [
  { step: 'backup create', seconds: backup.seconds, peakMiB: backup.peakMiB, baseline: 'pg_dump | gzip -1', baselineSeconds: pgDump.seconds, ratio: +(backup.seconds / pgDump.seconds).toFixed(2), fileMiB: size(bundle), baselineFileMiB: size(dump) },
  { step: 'backup restore', seconds: restore.seconds, peakMiB: restore.peakMiB, baseline: 'gunzip | psql', baselineSeconds: psql.seconds, ratio: +(restore.seconds / psql.seconds).toFixed(2) },
];
console.log(`backup and restore of ${KEYS} keys (and their bindings, versions, aliases, events), each in its own process`);
console.table(rows);
mkdirSync('.run', { recursive: true });
writeFileSync('.run/bench-backup.json', JSON.stringify({ keys: KEYS, rows }, null, 2));
for (const name of [target, plain]) await admin.unsafe(`drop database ${name} with (force)`);
await admin.end();
rmSync(dir, { recursive: true, force: true });
