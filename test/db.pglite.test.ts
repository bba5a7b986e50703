// The embedded database sets drizzle's per-query parsers once on the PGlite instance (where they cost
// nothing per query) instead of with every query: rows must come out exactly as drizzle's own
// PGlite driver gives them, in and out of transactions.
import { afterAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { sql } from 'drizzle-orm';
import { openDatabase, type Db } from '../src/db/client.ts';

const ours = await openDatabase({ pglite: 'memory://' });
const plainClient = await PGlite.create('memory://');
const plain = drizzle(plainClient) as unknown as Db;
afterAll(async () => { await ours.close(); await plainClient.close(); });

// A column of every type whose parsing drizzle overrides, and of some it leaves to PGlite.
const row = sql`select '2026-12-06 10:00:00.123456+00'::timestamptz as tstz, '2026-12-06 10:00:00.5'::timestamp as ts,
  '2026-12-06'::date as d, interval '1 day 2 hours' as i, array[1.5, 2]::numeric[] as nums,
  array['2026-12-06 10:00:00+00'::timestamptz] as tstzs, array['2026-12-06 10:00:00'::timestamp] as tss,
  array['2026-12-06'::date] as ds, array[interval '1 hour'] as ivs, 42 as n, 9007199254740993::bigint as big,
  '{"a":[1]}'::jsonb as j, array['x', 'y'] as texts, true as b, '\\x0102'::bytea as bytes, 1.25::numeric as num`;

const rows = async (db: Db) => {
  const outside = await db.execute(row);
  const inside = await db.transaction((tx) => tx.execute(row));
  return [outside, inside].map((r) => (r as unknown as { rows: unknown[] }).rows);
};

describe('the embedded database', () => {
  it('gives rows as drizzle\'s PGlite driver does, in and out of transactions', async () => {
    for (const db of [ours.db, plain]) await db.execute(sql`set timezone to 'UTC'`);
    const [a, b] = [await rows(ours.db), await rows(plain)];
    expect(a).toEqual(b);
    expect(a[0]![0]).toMatchObject({ tstz: '2026-12-06 10:00:00.123456+00', d: '2026-12-06', tstzs: '{"2026-12-06 10:00:00+00"}', n: 42, texts: ['x', 'y'] });
  });
});
