// The tables a backup carries and putting them back. Rows travel as JSON: timestamps as ISO
// strings and bytea as base64, each turned back by its column's type, so that the format does not
// depend on the driver or the Node version that wrote it.
import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../client.ts';
import { bindingVersions, envelopeRepairs, keyAliases, keyBindings, keyEvents, keys, keyVersions, policies } from '../schema/index.ts';

/**
 * In the order rows go back (a table after those its foreign keys point at). Not carried: API keys
 * (credentials belong to the gateway installation, made anew with `kmsgw api-keys create`), the
 * audit trail itself (its head is in the bundle), approvals, jobs, usage and idempotency records.
 */
export const backedUpTables = {
  keys, key_versions: keyVersions, key_bindings: keyBindings, binding_versions: bindingVersions,
  key_aliases: keyAliases, key_events: keyEvents, policies, envelope_repairs: envelopeRepairs,
} as const;

export type BackedUpTable = keyof typeof backedUpTables;
type JsonRow = Record<string, unknown>;
export type Snapshot = Record<BackedUpTable, JsonRow[]>;

/** Every backed-up row, read in one snapshot so that the tables agree with each other. */
export async function readSnapshot(db: Db): Promise<Snapshot> {
  return db.transaction(async (tx) => {
    const out = {} as Snapshot;
    for (const [name, table] of Object.entries(backedUpTables) as [BackedUpTable, PgTable][]) {
      out[name] = (await tx.select().from(table)).map(toJson);
    }
    return out;
  }, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/** Whether the gateway has no keys and no policies: the only kind a restore goes into. */
export async function isEmptyGateway(db: Db): Promise<boolean> {
  const [key] = await db.select({ id: keys.id }).from(keys).limit(1);
  const [policy] = await db.select({ id: policies.id }).from(policies).limit(1);
  return !key && !policy;
}

/** Inserts a snapshot's rows, table by table, within the caller's transaction. */
export async function writeSnapshot(tx: Db, snapshot: Snapshot): Promise<void> {
  for (const [name, table] of Object.entries(backedUpTables) as [BackedUpTable, PgTable][]) {
    const columns = getTableColumns(table);
    const rows = snapshot[name].map((r) => fromJson(columns, r));
    // Well under PostgreSQL's 65,535 bound parameters for the widest table.
    for (let i = 0; i < rows.length; i += 500) await tx.insert(table).values(rows.slice(i, i + 500));
  }
}

const toJson = (row: JsonRow): JsonRow => Object.fromEntries(Object.entries(row).map(([k, v]) => [k,
  v instanceof Date ? v.toISOString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v]));

function fromJson(columns: ReturnType<typeof getTableColumns>, row: JsonRow): JsonRow {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => {
    const column = columns[k];
    if (!column) throw new Error(`the bundle has a column "${k}" this gateway's schema does not`);
    if (v === null) return [k, v];
    if (column.columnType === 'PgTimestamp') return [k, new Date(v as string)];
    if (column.getSQLType() === 'bytea') return [k, Buffer.from(v as string, 'base64')];
    return [k, v];
  }));
}
