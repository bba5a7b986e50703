// A gateway killed (SIGKILL) in the middle of a sync job: the replica's new AWS key (moto) has been
// made, and the instance dies before recording it. Another instance takes the job over once the
// lease runs out, finds that key by the operation id the job recorded before asking AWS, and
// completes: every replica gets its version, and AWS holds no second key for any of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient, ListKeysCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { freePort } from './support/ports.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');
const region = process.env.AWS_REGION ?? 'eu-west-1';
const connections = [{ name: 'local', provider: 'local' }, { name: 'aws', provider: 'aws', region, endpoint }];
const KEYS = 3;
const kms = new KMSClient({ region, endpoint });

let gw: TestGateway;
const children: ChildProcess[] = [];
beforeAll(async () => { gw = await startGateway({ config: { connections } }); });
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await gw?.close();
  kms.destroy();
});

function startInstance(configFile: string, port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/kmsgw.ts', 'serve'], {
    env: { ...process.env, DATABASE_URL: gw.databaseUrl, KMSGW_DATA_DIR: gw.dataDir, KMSGW_CONFIG: configFile, PORT: String(port), LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

/** AWS keys tagged for each gateway key, as moto holds them. */
async function awsKeysFor(ids: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = Object.fromEntries(ids.map((id) => [id, []]));
  for (let marker: string | undefined, first = true; first || marker; first = false) {
    const page = await kms.send(new ListKeysCommand({ Marker: marker }));
    for (const k of page.Keys ?? []) {
      const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: k.KeyId! }))).Tags ?? [];
      const owner = tags.find((t) => t.TagKey === 'kmsgw:key-id')?.TagValue;
      if (owner && out[owner]) out[owner].push(`aws:${k.KeyArn}`);
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  }
  return out;
}

const rows = async <T>(q: ReturnType<typeof sql>) => (await gw.database.db.execute(q)) as unknown as T[];
const until = async (what: string, ok: () => Promise<boolean>, ms = 90_000) => {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

it('a sync job killed after AWS made the replica\'s key completes on another instance, with no second key', async () => {
  const ids: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const res = await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'local', replicas: ['aws'] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id);
  }
  // Every AWS replica missed version 2, as when AWS was down during the rotation (the key the
  // rotation made there is left aside: the sync must make its own).
  for (const id of ids) expect((await gw.call('POST', `/v1/keys/${id}/rotate`)).status).toBe(200);
  await gw.database.db.execute(sql`delete from binding_versions where version = 2 and binding_id in (select id from key_bindings where connection = 'aws')`);
  const before = await awsKeysFor(ids);

  // Recording a caught-up version blocks, so the first instance dies between AWS's answer and the commit.
  const blocker = postgres(gw.databaseUrl!, { max: 1, onnotice: () => {} });
  const lock = await blocker.reserve();
  await lock`begin`;
  await lock`lock table binding_versions in exclusive mode`;

  const configFile = join(gw.dataDir, 'instance.yaml');
  writeFileSync(configFile, stringify({ connections, replicas: { syncEverySeconds: 1 }, inventory: { discoverEverySeconds: 0, complianceScanEverySeconds: 0 } }));
  const first = startInstance(configFile, await freePort());
  let killedFor = '';
  try {
    await until('AWS to make a replica key', async () => {
      const now = await awsKeysFor(ids);
      killedFor = ids.find((id) => now[id]!.length > before[id]!.length) ?? '';
      return killedFor !== '';
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
  } finally {
    await lock`rollback`;
    lock.release();
    await blocker.end();
  }
  const orphan = (await awsKeysFor([killedFor]))[killedFor]!.find((r) => !before[killedFor]!.includes(r))!;
  const [killedJob] = await rows<{ status: string; cursor: { catchUp?: { operation: string } } }>(sql`select status, cursor from jobs where kind = 'sync' and target = ${killedFor}`);
  expect(killedJob).toMatchObject({ status: 'RUNNING', cursor: { catchUp: { operation: expect.any(String) } } });

  // The second instance takes the job over when the dead one's lease (30 s) runs out.
  startInstance(configFile, await freePort());
  await until('every sync job to succeed', async () => {
    const jobs = await rows<{ status: string }>(sql`select status from jobs where kind = 'sync'`);
    return jobs.length === KEYS && jobs.every((j) => j.status === 'SUCCEEDED');
  });

  const after = await awsKeysFor(ids);
  for (const id of ids) expect(after[id], `AWS keys of ${id}`).toHaveLength(before[id]!.length + 1);
  const [adopted] = await rows<{ version_ref: string }>(sql`select v.version_ref from binding_versions v join key_bindings b on b.id = v.binding_id
    where b.key_id = ${killedFor} and b.connection = 'aws' and v.version = 2`);
  expect(adopted!.version_ref).toBe(orphan);
  const [job] = await rows<{ attempts: number; notes: string[] }>(sql`select attempts, notes from jobs where kind = 'sync' and target = ${killedFor}`);
  expect(job).toMatchObject({ attempts: 2, notes: [expect.stringContaining('found made by an interrupted attempt')] });
  // And the replica works: an envelope sealed now opens with the AWS replica alone.
  const sealed = await gw.call('POST', `/v1/keys/${killedFor}/encrypt`, { plaintext: 'aGk=' });
  expect(sealed.status).toBe(200);
}, 180_000);
