// A backup larger than its batches: 2,500 keys (three batches of the backup, five of the restore)
// and 6,000 envelope repairs (two pages) seeded into a gateway's database, backed up under keys on
// AWS (moto), restored into a new gateway: every row comes back, each key's rows with their key.
// And the same backup through the API, its client gone after the first bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, expect, it, vi } from 'vitest';
import { executeRows } from '../src/db/client.ts';
import { queryAuditEvents } from '../src/db/queries/audit.ts';
import { backupToFile } from '../src/dr/backup.ts';
import { restoreBackup } from '../src/dr/restore.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');
const connections = [{ name: 'local', provider: 'local' }, { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'eu-west-1', endpoint }];
const KEYS = 2_500;
const REPAIRS = 6_000;

const dir = mkdtempSync(join(tmpdir(), 'kmsgw-backup-batches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeds keys as discovery would leave AWS keys (each with a binding, a version, an alias, an event), and repairs spread over them. */
async function seed(gw: TestGateway): Promise<void> {
  const db = gw.database.db;
  await db.execute(sql.raw(`
    insert into keys (id, spec, usage, state, description, tags, origin, managed, connection, provider, current_version, extractable, never_extractable, sensitive, always_sensitive)
    select 'key_seed' || lpad(i::text, 22, '0'), 'AES_256', 'ENCRYPT_DECRYPT', (array['ACTIVE','SUSPENDED','PENDING_DELETION'])[1 + i % 3],
      'seeded ' || i, jsonb_build_object('team', 'team-' || (i % 7)), 'GATEWAY', i % 2 = 0, 'aws', 'aws', 1, false, true, true, true
    from generate_series(1, ${KEYS}) i`));
  await db.execute(sql.raw(`insert into key_bindings (id, key_id, connection, provider, ref, role) select 'bnd_' || substr(id, 5), id, 'aws', 'aws', 'aws:arn:aws:kms:eu-west-1:000000000000:key/' || id, 'primary' from keys where id like 'key_seed%'`));
  await db.execute(sql.raw("insert into key_versions (key_id, version) select id, 1 from keys where id like 'key_seed%'"));
  await db.execute(sql.raw("insert into binding_versions (binding_id, version, version_ref) select 'bnd_' || substr(id, 5), 1, 'aws:arn:aws:kms:eu-west-1:000000000000:key/' || id from keys where id like 'key_seed%'"));
  await db.execute(sql.raw("insert into key_aliases (name, key_id) select 'seeded-' || substr(id, 5), id from keys where id like 'key_seed%'"));
  await db.execute(sql.raw("insert into key_events (id, key_id, type, actor, detail) select 'evt_' || substr(id, 5), id, 'DISCOVERED', 'seed', '{}' from keys where id like 'key_seed%'"));
  await db.execute(sql.raw(`
    insert into envelope_repairs (message_id, key_id, key_version, header, wraps, missing)
    select sha256(i::text::bytea), 'key_seed' || lpad((1 + i % ${KEYS})::text, 22, '0'), 1, sha256(('h' || i)::bytea),
      jsonb_build_object('bnd_seed' || lpad((1 + i % ${KEYS})::text, 22, '0'), encode(sha256(('w' || i)::bytea), 'base64')), '{}'
    from generate_series(1, ${REPAIRS}) i`));
}

/** Per table, the row count and a digest of the columns a restore must keep as they were. */
async function fingerprint(gw: TestGateway): Promise<Record<string, unknown>> {
  const tables = {
    keys: "id || state || connection || tags::text || description",
    key_versions: "key_id || version",
    key_bindings: "id || key_id || connection || coalesce(ref, '') || role",
    binding_versions: "binding_id || version || version_ref",
    key_aliases: "name || key_id",
    envelope_repairs: "encode(message_id, 'hex') || key_id || wraps::text || encode(header, 'hex')",
    policies: "id || version || text",
  };
  const out: Record<string, unknown> = {};
  for (const [table, columns] of Object.entries(tables)) {
    [out[table]] = await executeRows(gw.database.db, sql.raw(`select count(*)::int as n, md5(coalesce(string_agg(${columns}, ',' order by ${columns}), '')) as digest from ${table}`));
  }
  return out;
}

it(`backs up ${KEYS} keys and ${REPAIRS} envelope repairs a batch at a time, and restores every row`, async () => {
  const bundle = join(dir, 'bundle.kmsgw');
  const old = await startGateway({ config: { connections } });
  let before: Record<string, unknown>;
  let events: number;
  try {
    const enc = (await old.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' })).body;
    const sig = (await old.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' })).body;
    await seed(old);
    before = await fingerprint(old);
    [{ n: events }] = await executeRows<{ n: number }>(old.database.db, sql`select count(*)::int as n from key_events`) as [{ n: number }];
    const progress: number[] = [];
    const report = await backupToFile(old.database.db, old.runtime.connections, old.runtime.services.keys, {
      encryptionKey: enc.id, signingKey: sig.id, principal: 'cli:test', out: bundle, progress: ({ keys }) => progress.push(keys),
    });
    expect(report).toMatchObject({ keys: KEYS + 2, materials: 0, notCarried: [] });
    expect(progress).toEqual([1_000, 2_000, KEYS + 2]);
  } finally {
    await old.close();
  }

  const gw = await startGateway({ config: { connections } });
  try {
    await gw.database.db.execute(sql`delete from policies`);
    const report = await restoreBackup(gw.database.db, gw.runtime.connections, bundle, { principal: 'cli:test' });
    expect(report).toMatchObject({ keys: KEYS + 2, imported: [], dropped: [], lost: [], promoted: [] });
    expect(await fingerprint(gw)).toEqual(before);
    // Each key's history has the restore at its end.
    const [{ n }] = await executeRows<{ n: number }>(gw.database.db, sql`select count(*)::int as n from key_events`) as [{ n: number }];
    expect(n).toBe(events + KEYS + 2);
  } finally {
    await gw.close();
  }
}, 180_000);

it('a client that stops reading POST /v1/backups stops the backup at its next write: it ends, recording no backup, and the gateway serves on', async () => {
  const gw = await startGateway({ config: { connections } });
  try {
    const enc = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' })).body;
    const sig = (await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' })).body;
    await seed(gw);
    // The route logs how the backup ended; a backup that hung on the gone client would never get here.
    const ended = new Promise<unknown>((resolve) => {
      vi.spyOn(gw.runtime.services.logger, 'error').mockImplementation(((obj: unknown) => resolve(obj)) as never);
    });
    const body = JSON.stringify({ encryptionKey: enc.id, signingKey: sig.id });
    const res = await gw.app.request('/v1/backups', { method: 'POST', headers: { authorization: `Bearer ${gw.secret}`, 'content-type': 'application/json', 'content-length': String(body.length) }, body });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(await ended).toMatchObject({ err: expect.objectContaining({ message: 'the client stopped reading the backup' }) });
    expect(await queryAuditEvents(gw.database.db, { action: 'backup create' }, 10)).toEqual([]);
    expect((await gw.call('GET', '/v1/keys?limit=1')).status).toBe(200);
  } finally {
    await gw.close();
  }
}, 120_000);
