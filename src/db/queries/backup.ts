// The rows a backup carries, read a batch of keys at a time, and putting them back. Rows travel as
// PostgreSQL writes them in JSON (`to_jsonb`: column names, its own text for timestamps, bytea as
// `\x` hex), built and parsed by the database itself (`json_populate_recordset`), so a million keys
// move without a row object per column in the gateway's memory.
//
// Not carried: API keys (credentials belong to the gateway installation, made anew with `kmsgw
// api-keys create`), the audit trail itself (its head is in the bundle), approvals, jobs, usage and
// idempotency records.
import { countDistinct, count, getTableColumns, getTableName, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { executeRows, type Db } from '../client.ts';
import { auditHead } from './audit.ts';
import { bindingVersions, envelopeRepairs, keyAliases, keyBindings, keyEvents, keys, keyVersions, policies } from '../schema/index.ts';

/** A row as `to_jsonb` gives it: column names as keys. */
export type JsonRow = Record<string, unknown>;

/** A key with every row that hangs off it. */
export interface KeyRows { key: JsonRow; versions: JsonRow[]; bindings: JsonRow[]; bindingVersions: JsonRow[]; aliases: JsonRow[]; events: JsonRow[] }

/** What a backup knows before it reads the keys: when it starts, what it will hold, where exportable material is read from. */
export interface BackupStart {
  /** The database's clock: keys and repairs made after it are left to the next backup. */
  startedAt: Date;
  keys: number;
  policies: number;
  auditHead: { seq: number; hash: string } | null;
  /** The connections exportable keys' material will be read from (of `exporters`: the primary's, else the oldest replica's). */
  materialSources: string[];
}

export async function backupStart(db: Db, exporters: string[]): Promise<BackupStart> {
  return db.transaction(async (tx) => {
    const [clock] = await executeRows<{ ms: number }>(tx, sql`select (extract(epoch from now()) * 1000)::float8 as ms`);
    const [keyCount] = await tx.select({ n: count() }).from(keys);
    const [policyCount] = await tx.select({ n: countDistinct(policies.id) }).from(policies);
    const head = await auditHead(tx);
    const sources = exporters.length === 0 ? [] : await executeRows<{ connection: string }>(tx, sql`
      select distinct connection from (
        select distinct on (b.key_id) b.connection from ${keyBindings} b join ${keys} k on k.id = b.key_id
        where k.extractable and k.state <> 'DESTROYED' and b.ref is not null and b.connection in ${exporters}
        order by b.key_id, (b.role = 'primary') desc, b.created_at
      ) s`);
    return { startedAt: new Date(Math.floor(clock!.ms)), keys: keyCount!.n, policies: policyCount!.n, auditHead: head ?? null, materialSources: sources.map((s) => s.connection) };
  }, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/** A key's bundle record as the database wrote it (materials empty), with what the backup decides on without parsing it. */
export interface KeyLine { id: string; line: string; exportable: boolean; managed: boolean; destroyed: boolean; localOnly: boolean }

/**
 * The records of the first `limit` keys after `after` in id order made by `madeBy`: one statement,
 * so one snapshot, and a key's rows agree with each other (a rotation committing meanwhile is in all
 * of them or in none). Bindings come primary first, then oldest first.
 */
export async function readKeyLines(db: Db, after: string | undefined, madeBy: Date, limit: number): Promise<KeyLine[]> {
  const rows = (table: PgTable, where: string, order: string) => sql.raw(`coalesce((select jsonb_agg(r order by ${order}) from ${getTableName(table)} r where ${where}), '[]'::jsonb)`);
  return executeRows<KeyLine>(db, sql`
    select k.id, jsonb_build_object('type', 'key', 'rows', jsonb_build_object(
        'key', to_jsonb(k),
        'versions', ${rows(keyVersions, 'r.key_id = k.id', 'r.version')},
        'bindings', ${rows(keyBindings, 'r.key_id = k.id', "r.role = 'primary' desc, r.created_at")},
        'bindingVersions', ${rows(bindingVersions, 'r.binding_id in (select id from key_bindings where key_id = k.id)', 'r.binding_id, r.version')},
        'aliases', ${rows(keyAliases, 'r.key_id = k.id', 'r.name')},
        'events', ${rows(keyEvents, 'r.key_id = k.id', 'r.id')}
      ), 'materials', '[]'::jsonb)::text as line,
      k.extractable as exportable, k.managed, k.state = 'DESTROYED' as destroyed,
      not exists (select 1 from ${keyBindings} b where b.key_id = k.id and b.provider <> 'local') as "localOnly"
    from ${keys} k
    where ${after === undefined ? sql`true` : sql`k.id > ${after}`} and k.created_at <= ${madeBy.toISOString()}::timestamptz
    order by k.id limit ${limit}`);
}

/** Records of the envelope repairs made by `madeBy` (their keys are in the backup), a page at a time in message id order. */
export async function readRepairLines(db: Db, after: string | undefined, madeBy: Date, limit: number): Promise<{ messageId: string; line: string }[]> {
  return executeRows(db, sql`
    select encode(r.message_id, 'hex') as "messageId", jsonb_build_object('type', 'repair', 'row', to_jsonb(r))::text as line
    from ${envelopeRepairs} r
    where ${after === undefined ? sql`true` : sql`r.message_id > decode(${after}, 'hex')`} and r.created_at <= ${madeBy.toISOString()}::timestamptz
    order by r.message_id limit ${limit}`);
}

/** Records of every version of every policy: a gateway has tens or hundreds. */
export async function readPolicyLines(db: Db): Promise<string[]> {
  const rows = await executeRows<{ line: string }>(db, sql`select jsonb_build_object('type', 'policy', 'row', to_jsonb(p))::text as line from ${policies} p order by p.id, p.version`);
  return rows.map((r) => r.line);
}

/** Whether the gateway has no keys and no policies: the only kind a restore goes into. */
export async function isEmptyGateway(db: Db): Promise<boolean> {
  const [key] = await db.select({ id: keys.id }).from(keys).limit(1);
  const [policy] = await db.select({ id: policies.id }).from(policies).limit(1);
  return !key && !policy;
}

/** Keys with their rows, within the caller's transaction: each table after those its foreign keys point at. */
export async function writeKeyRows(tx: Db, batch: KeyRows[]): Promise<void> {
  await writeRows(tx, keys, batch.map((k) => k.key));
  await writeRows(tx, keyVersions, batch.flatMap((k) => k.versions));
  await writeRows(tx, keyBindings, batch.flatMap((k) => k.bindings));
  await writeRows(tx, bindingVersions, batch.flatMap((k) => k.bindingVersions));
  await writeRows(tx, keyAliases, batch.flatMap((k) => k.aliases));
  await writeRows(tx, keyEvents, batch.flatMap((k) => k.events));
}

export const writeRepairs = (tx: Db, rows: JsonRow[]) => writeRows(tx, envelopeRepairs, rows);
export const writePolicies = (tx: Db, rows: JsonRow[]) => writeRows(tx, policies, rows);

/**
 * One statement per table and batch: the database turns the JSON back into rows. Only the columns
 * the bundle has are written, so a column added since it was made takes its default.
 */
async function writeRows(tx: Db, table: PgTable, rows: JsonRow[]): Promise<void> {
  if (rows.length === 0) return;
  const known = new Set(Object.values(getTableColumns(table)).map((c) => c.name));
  const columns = Object.keys(rows[0]!);
  const unknown = columns.find((c) => !known.has(c));
  if (unknown) throw new Error(`the bundle has a column "${unknown}" in ${getTableName(table)} that this gateway's schema does not`);
  const list = sql.raw(columns.map((c) => `"${c}"`).join(', '));
  await tx.execute(sql`insert into ${table} (${list}) select ${list} from json_populate_recordset(null::${table}, ${JSON.stringify(rows)}::json)`);
}

/** A format 1 row (drizzle's field names, ISO timestamps, bytea in base64) as `to_jsonb` writes it. */
export function fromFormat1(tableName: string, row: JsonRow): JsonRow {
  const table = ({ keys, key_versions: keyVersions, key_bindings: keyBindings, binding_versions: bindingVersions, key_aliases: keyAliases, key_events: keyEvents, policies, envelope_repairs: envelopeRepairs } as Record<string, PgTable>)[tableName];
  if (!table) throw new Error(`a format 1 bundle has no table "${tableName}"`);
  const columns = getTableColumns(table);
  return Object.fromEntries(Object.entries(row).map(([field, v]) => {
    const column = columns[field];
    if (!column) throw new Error(`the bundle has a column "${field}" in ${tableName} that this gateway's schema does not`);
    return [column.name, v !== null && column.getSQLType() === 'bytea' ? `\\x${Buffer.from(v as string, 'base64').toString('hex')}` : v];
  }));
}
