// The embedded database admits one process at a time: a second opener (another gateway, an operator
// command while the gateway runs) is refused with a clear message instead of working on a copy of
// its own whose writes would be lost.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql, type SQL } from 'drizzle-orm';
import { openDatabase, type Database } from '../src/db/client.ts';
import { DatabaseInUse } from '../src/db/in-use.ts';
import { runKmsgw } from './support/cli.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-lock-'));
const target = { pglite: join(dataDir, 'pglite') };
const open: Database[] = [];
afterAll(async () => { for (const d of open) await d.close(); });
const rows = async (d: Database, query: SQL) => ((await d.db.execute(query)) as unknown as { rows: unknown[] }).rows;

describe('the embedded database\'s lock', { timeout: 60_000 }, () => {
  it('refuses a second opener while the first has it, and lets it in once closed', async () => {
    const first = await openDatabase(target);
    await first.db.execute(sql`create table marks (n int)`);
    await first.db.execute(sql`insert into marks values (1)`);
    const refused = await openDatabase(target).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(DatabaseInUse);
    expect((refused as Error).message).toContain(`the embedded database in ${target.pglite} is open in another process`);
    await first.close();
    const second = await openDatabase(target);
    open.push(second);
    expect(await rows(second, sql`select n from marks`)).toEqual([{ n: 1 }]);
  });

  it('an operator command on the host while the database is open elsewhere exits 2 saying why, and changes nothing', async () => {
    // The second opener above still holds it.
    const run = await runKmsgw(['api-keys', 'create', '--name', 'ops', '--role', 'auditor'], { KMSGW_DATA_DIR: dataDir, DATABASE_URL: '', KMSGW_CONFIG: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is open in another process');
    expect(run.stdout.toString()).toBe('');
    expect(await rows(open[0]!, sql`select count(*)::int as n from api_keys`)).toEqual([{ n: 0 }]);
  });
});
