// PostgreSQL only (PGlite is one process by nature): several instances starting at once on an
// empty database migrate it once, under the advisory lock, and all come up.
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.ts';

const url = process.env.DATABASE_URL!;
const name = `kmsgw_mig_${Date.now().toString(36)}`;
const admin = postgres(url, { max: 1, onnotice: () => {} });
afterAll(async () => {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe('migrations', () => {
  it('four instances starting together on an empty database all open it, and the schema is applied once', async () => {
    await admin.unsafe(`create database ${name}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ url: u.toString() }, { maxConnections: 2 })));
    const check = postgres(u.toString(), { max: 1 });
    const [migrations] = await check`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const [tables] = await check`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'keys'`;
    await check.end();
    await Promise.all(dbs.map((d) => d.close()));
    expect(tables!.n).toBe(1);
    const journal = JSON.parse(readFileSync(new URL('../src/db/migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    expect(migrations!.n).toBe(journal.entries.length);
  });
});
