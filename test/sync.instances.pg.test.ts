// Two gateway processes on one PostgreSQL, both scheduling the replica sync every second: each key's
// sync job is queued once and run by exactly one of them, and no replica version is made twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { freePort } from './support/ports.ts';

const KEYS = 40;
const connections = [{ name: 'local', provider: 'local' }, { name: 'local-b', provider: 'local' }];

let gw: TestGateway;
const instances: { child: ChildProcess; log: string[] }[] = [];
beforeAll(async () => {
  gw = await startGateway({ config: { connections } });
});
afterAll(async () => {
  for (const { child } of instances) child.kill('SIGKILL');
  await gw?.close();
});

async function startInstance(configFile: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/kmsgw.ts', 'serve'], {
    env: { ...process.env, DATABASE_URL: gw.databaseUrl, KMSGW_DATA_DIR: gw.dataDir, KMSGW_CONFIG: configFile, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const instance = { child, log: [] as string[] };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    instance.log.push(...lines);
  });
  instances.push(instance);
  return instance;
}

const stopped = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));

it('two instances run each scheduled sync job exactly once', async () => {
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) keys.push((await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', replicas: ['local-b'] })).body.id);
  // Every replica missed version 2, as when its connection was down during the rotation.
  for (const k of keys) expect((await gw.call('POST', `/v1/keys/${k}/rotate`)).status).toBe(200);
  await gw.database.db.execute(sql`delete from binding_versions where version = 2 and binding_id in (select id from key_bindings where role = 'replica')`);
  const materialBefore = await replicaMaterialRows();

  const configFile = join(gw.dataDir, 'instances.yaml');
  writeFileSync(configFile, stringify({ connections, replicas: { syncEverySeconds: 1 }, inventory: { discoverEverySeconds: 0, complianceScanEverySeconds: 0 } }));
  const [a, b] = [await startInstance(configFile), await startInstance(configFile)];
  for (let i = 0; i < 600 && (await behind()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(await behind()).toBe(0);
  // Let a few more schedule rounds pass: nothing is left to queue, so no job follows.
  await new Promise((r) => setTimeout(r, 2_500));
  for (const { child } of [a!, b!]) child.kill('SIGTERM');
  await Promise.all([a!, b!].map(({ child }) => stopped(child)));

  const jobs = (await gw.database.db.execute(sql`select target, status, attempts from jobs where kind = 'sync' order by target`)) as unknown as { target: string; status: string; attempts: number }[];
  expect(jobs).toEqual([...keys].sort().map((target) => ({ target, status: 'SUCCEEDED', attempts: 1 })));
  const started = [a!, b!].map(({ log }) => log.map((l) => JSON.parse(l)).filter((e) => e.msg === 'job started' && e.kind === 'sync').map((e) => e.jobId as string));
  const all = started.flat();
  expect(all).toHaveLength(KEYS);
  expect(new Set(all).size).toBe(KEYS);
  // One more version each on local-b, not two.
  expect(await replicaMaterialRows()).toBe(materialBefore + KEYS);
  console.info(`sync jobs run by each instance: ${started.map((s) => s.length).join(' and ')}`);
}, 120_000);

async function behind(): Promise<number> {
  const [row] = (await gw.database.db.execute(sql`select count(*)::int as n from key_bindings b join keys k on k.id = b.key_id
    where not exists (select 1 from binding_versions v where v.binding_id = b.id and v.version = k.current_version)`)) as unknown as { n: number }[];
  return row!.n;
}

async function replicaMaterialRows(): Promise<number> {
  const [row] = (await gw.database.db.execute(sql`select count(*)::int as n from local_key_material m join key_bindings b on b.ref = m.ref where b.connection = 'local-b'`)) as unknown as { n: number }[];
  return row!.n;
}
