// Queries on keys: the full graph the hot path caches, filtered listing, guarded state updates.
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { executeRows, notify, type Db } from '../client.ts';
import { needs } from '../../errors.ts';
import type { KeyState } from '../../keys/lifecycle.ts';
import type { KeySpec, KeyUsage } from '../../keys/specs.ts';
import { bindingVersions, keyAliases, keyBindings, keys, type KeyBindingRow, type KeyRow, type NewKeyRow } from '../schema/index.ts';
import { bindingBehind } from './bindings.ts';
import type { KeyVersionRef } from '../../../providers/provider.ts';

export interface BindingGraph extends KeyBindingRow { versions: Map<number, string> }
export interface KeyGraph { key: KeyRow; aliases: string[]; bindings: BindingGraph[] }
/** A binding whose backend key exists: every primary, and a replica once the sync job made it. */
export type MadeBinding = BindingGraph & { ref: string };

export const isMade = (b: BindingGraph): b is MadeBinding => b.ref !== null;

/** Where the binding keeps gateway version `version`, when it holds it (a pending replica holds none). */
export function heldVersion(b: BindingGraph, version: number): KeyVersionRef | undefined {
  const versionRef = b.versions.get(version);
  return versionRef && b.ref !== null ? { ref: b.ref, versionRef } : undefined;
}

/** The binding that protects new data: every key has exactly one, made with the key. */
export function primaryBinding(graph: KeyGraph): MadeBinding {
  const b = graph.bindings.find((x) => x.role === 'primary');
  needs(b && isMade(b), 'INTERNAL', `key "${graph.key.id}" has no primary binding`);
  return b;
}

export async function insertKey(db: Db, row: NewKeyRow): Promise<void> {
  await db.insert(keys).values(row);
}

export async function findKeyIdByAlias(db: Db, alias: string): Promise<string | undefined> {
  const [row] = await db.select({ keyId: keyAliases.keyId }).from(keyAliases).where(eq(keyAliases.name, alias));
  return row?.keyId;
}

/** Loads keys with their aliases, bindings and version maps, in four queries whatever the count. */
export async function loadKeyGraphs(db: Db, ids: string[]): Promise<KeyGraph[]> {
  if (ids.length === 0) return [];
  const [rows, aliases, bindings] = await Promise.all([
    db.select().from(keys).where(inArray(keys.id, ids)),
    db.select().from(keyAliases).where(inArray(keyAliases.keyId, ids)).orderBy(asc(keyAliases.name)),
    db.select().from(keyBindings).where(inArray(keyBindings.keyId, ids)).orderBy(asc(keyBindings.id)),
  ]);
  const versions = bindings.length === 0 ? [] : await db.select().from(bindingVersions)
    .where(inArray(bindingVersions.bindingId, bindings.map((b) => b.id)));
  const byId = new Map(rows.map((key) => [key.id, key]));
  return ids.filter((id) => byId.has(id)).map((id) => ({
    key: byId.get(id)!,
    aliases: aliases.filter((a) => a.keyId === id).map((a) => a.name),
    bindings: bindings.filter((b) => b.keyId === id).map((b) => ({
      ...b,
      versions: new Map(versions.filter((v) => v.bindingId === b.id).map((v) => [v.version, v.versionRef])),
    })),
  }));
}

export interface KeyFilter {
  /** Each of these five: keys with any of the values. */
  state?: KeyState[]; spec?: KeySpec[]; usage?: KeyUsage[]; provider?: string[]; connection?: string[];
  origin?: string; managed?: boolean;
  tags?: Record<string, string>; alias?: string; rotationDueBefore?: Date;
  /** Keys on any of these connections (a region's, say). */
  connections?: string[];
  /** Keys no operation has used at or after this time, never-used ones included. */
  unusedSince?: Date;
  /** none: no replica; degraded: a binding out of sync or on one of `unhealthy`; healthy: replicas, none degraded. */
  replicas?: 'none' | 'degraded' | 'healthy';
  unhealthy?: string[];
}

export const SORT_FIELDS = ['id', 'createdAt', 'lastUsedAt', 'nextRotationAt', 'state', 'spec', 'provider', 'connection'] as const;
export type SortField = typeof SORT_FIELDS[number];
export interface Sort { field: SortField; descending: boolean }
export const BY_ID: Sort = { field: 'id', descending: false };
/** Where the previous page ended: the last key's id and its value of the sort field (ISO for dates). */
export interface After { id: string; value: string | null }

const sortColumns = {
  id: keys.id, createdAt: keys.createdAt, lastUsedAt: keys.lastUsedAt, nextRotationAt: keys.nextRotationAt,
  state: keys.state, spec: keys.spec, provider: keys.provider, connection: keys.connection,
} as const;

/** A key's value of the sort field, as a cursor carries it. */
export function sortValue(key: KeyRow, field: SortField): string | null {
  const v = key[field];
  return v instanceof Date ? v.toISOString() : v ?? null;
}

const hasReplica = (where?: SQL) => sql`exists (select 1 from ${keyBindings} where ${keyBindings.keyId} = ${keys.id} and ${keyBindings.role} = 'replica'${where ? sql` and ${where}` : sql``})`;

export async function listKeyIds(db: Db, filter: KeyFilter, sort: Sort, after: After | undefined, limit: number): Promise<string[]> {
  const where: (SQL | undefined)[] = [];
  for (const field of ['state', 'spec', 'usage', 'provider', 'connection'] as const) {
    const any = filter[field];
    if (any?.length) where.push(inArray(keys[field], any));
  }
  if (filter.connections) where.push(filter.connections.length > 0 ? inArray(keys.connection, filter.connections) : sql`false`);
  if (filter.origin) where.push(eq(keys.origin, filter.origin));
  if (filter.managed !== undefined) where.push(eq(keys.managed, filter.managed));
  if (filter.rotationDueBefore) where.push(lte(keys.nextRotationAt, filter.rotationDueBefore));
  if (filter.unusedSince) where.push(or(isNull(keys.lastUsedAt), lt(keys.lastUsedAt, filter.unusedSince)));
  if (filter.tags && Object.keys(filter.tags).length > 0) where.push(sql`${keys.tags} @> ${JSON.stringify(filter.tags)}::jsonb`);
  if (filter.alias) where.push(inArray(keys.id, db.select({ id: keyAliases.keyId }).from(keyAliases).where(eq(keyAliases.name, filter.alias))));
  if (filter.replicas) {
    const unhealthy = filter.unhealthy?.length ? inArray(keyBindings.connection, filter.unhealthy) : undefined;
    const degraded = sql`exists (select 1 from ${keyBindings} where ${keyBindings.keyId} = ${keys.id} and (${bindingBehind}${unhealthy ? sql` or ${unhealthy}` : sql``}))`;
    if (filter.replicas === 'none') where.push(sql`not ${hasReplica()}`);
    else if (filter.replicas === 'degraded') where.push(degraded);
    else where.push(and(hasReplica(), sql`not ${degraded}`));
  }
  if (sort.field !== 'id' && filter.tags && Object.keys(filter.tags).length > 0) {
    const page = await pageAmongFew(db, where, sort, after, limit);
    if (page) return page;
  }
  return pageIds(db, where, sort, after, limit);
}

/** How many keys matching a tag filter are few enough to be sorted among themselves. */
const FEW = 10_000;

/**
 * A sorted page under a tag filter, ordered among the matching keys when they are few; undefined
 * when they are more. The planner cannot know how tags correlate with the other filters: it walks the
 * sort's index expecting to meet matches soon, and a few thousand matches spread over a million keys
 * make that walk a table visit per key (1M keys: p95 260–460 ms). Taken first, unordered, the
 * matches come from index bitmaps; ordering a few thousand of them is cheap.
 */
async function pageAmongFew(db: Db, where: (SQL | undefined)[], sort: Sort, after: After | undefined, limit: number): Promise<string[] | undefined> {
  const column = sortColumns[sort.field];
  const direction = sort.descending ? sql.raw('desc') : sql.raw('asc');
  const beyond = sort.descending ? sql.raw('<') : sql.raw('>');
  const order = sql`(m.v is null), m.v ${direction}, m.id ${direction}`;
  const cursor = !after ? sql`true`
    : after.value === null ? sql`m.v is null and m.id ${beyond} ${after.id}`
      : sql`(m.v is null or (m.v, m.id) ${beyond} (${sql.param(column.columnType === 'PgTimestamp' ? new Date(after.value) : after.value, column)}, ${after.id}))`;
  // One statement: the matches (at most FEW + 1, unordered), their count, and the page among them in order.
  const rows = await executeRows<{ id: string | null; n: number }>(db, sql`
    with m as (select ${keys.id} as id, ${column} as v from ${keys} where ${and(...where) ?? sql`true`} limit ${FEW + 1})
    select p.id, c.n from (select count(*)::int as n from m) c
    left join lateral (select m.id, row_number() over (order by ${order}) as rn from m where ${cursor} order by ${order} limit ${limit}) p on true
    order by p.rn`);
  if ((rows[0]?.n ?? 0) > FEW) return undefined;
  return rows.flatMap((r) => (r.id === null ? [] : [r.id]));
}

/** Sort fields a key may have no value for. */
const nullable = new Set<SortField>(['lastUsedAt', 'nextRotationAt']);

/**
 * One keyset page: keys without a value come last in either direction, ids break ties. The keys with
 * a value and those without are read apart (the second only when the first runs out), so each read is
 * one range of a (field, id) index in either direction; a single `nulls last` order would make a
 * descending page sort every matching key.
 */
async function pageIds(db: Db, where: (SQL | undefined)[], sort: Sort, after: After | undefined, limit: number): Promise<string[]> {
  const direction = sort.descending ? sql`desc` : sql`asc`;
  const beyond = sort.descending ? sql`<` : sql`>`;
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
  if (sort.field === 'id') {
    const cursor = after && sql`${keys.id} ${beyond} ${after.id}`;
    return ids(await db.select({ id: keys.id }).from(keys).where(and(...where, cursor)).orderBy(sql`${keys.id} ${direction}`).limit(limit));
  }
  const column = sortColumns[sort.field];
  const found: string[] = [];
  if (after?.value !== null) {
    const cursor = after && sql`(${column}, ${keys.id}) ${beyond} (${sql.param(column.columnType === 'PgTimestamp' ? new Date(after.value!) : after.value, column)}, ${after.id})`;
    const valued = nullable.has(sort.field) ? isNotNull(column) : undefined;
    found.push(...ids(await db.select({ id: keys.id }).from(keys).where(and(...where, valued, cursor))
      .orderBy(sql`${column} ${direction}`, sql`${keys.id} ${direction}`).limit(limit)));
  }
  if (nullable.has(sort.field) && found.length < limit) {
    const cursor = after?.value === null ? sql`${keys.id} ${beyond} ${after.id}` : undefined;
    found.push(...ids(await db.select({ id: keys.id }).from(keys).where(and(...where, isNull(column), cursor))
      .orderBy(sql`${keys.id} ${direction}`).limit(limit - found.length)));
  }
  return found;
}

/**
 * Updates a key only while it is still in one of `fromStates`, so that two racing transitions
 * cannot both apply; returns the updated row or undefined when the state had moved on.
 */
/** A key's row, locked until the transaction ends: for a change computed from what is stored. */
export async function lockKey(tx: Db, id: string): Promise<KeyRow> {
  const [row] = await tx.select().from(keys).where(eq(keys.id, id)).for('update');
  needs(row, 'NOT_FOUND', `key "${id}" does not exist`);
  return row;
}

export async function updateKeyGuarded(db: Db, id: string, fromStates: readonly KeyState[], set: Partial<NewKeyRow>): Promise<KeyRow | undefined> {
  const [row] = await db.update(keys).set({ ...set, updatedAt: new Date() })
    .where(and(eq(keys.id, id), inArray(keys.state, [...fromStates]))).returning();
  return row;
}

/** Keys whose dates call for the lifecycle sweep at `now`. */
export async function keysDueForSweep(db: Db, now: Date, limit: number): Promise<KeyRow[]> {
  // Typed operators, not a raw template: drivers map Date parameters only through the column.
  return db.select().from(keys).where(or(
    and(eq(keys.state, 'PRE_ACTIVE'), or(lte(keys.activationDate, now), lte(keys.deactivationDate, now))),
    and(inArray(keys.state, ['ACTIVE', 'SUSPENDED']), lte(keys.deactivationDate, now)),
    and(eq(keys.state, 'PENDING_DELETION'), lte(keys.deletionDate, now)),
    // An imported key's period only reminds (reports count it overdue): it rotates with its holder's material.
    and(eq(keys.state, 'ACTIVE'), ne(keys.origin, 'IMPORTED'), lte(keys.nextRotationAt, now)),
  )).orderBy(asc(keys.id)).limit(limit);
}

export async function notifyKeyChanged(db: Db, id: string): Promise<void> {
  await notify(db, 'kmsgw_keys', id);
}

/**
 * Claims a scheduled rotation: only the instance whose update still sees the due date rotates;
 * the others find it moved. The date moves to `retryAt` until the rotation itself sets the next one.
 */
export async function claimRotation(db: Db, id: string, due: Date, retryAt: Date): Promise<boolean> {
  const rows = await db.update(keys).set({ nextRotationAt: retryAt })
    .where(and(eq(keys.id, id), eq(keys.state, 'ACTIVE'), eq(keys.nextRotationAt, due))).returning({ id: keys.id });
  return rows.length > 0;
}

/** Marks an observed key managed; false when it already was. */
export async function updateKeyManaged(db: Db, id: string): Promise<boolean> {
  const rows = await db.update(keys).set({ managed: true, updatedAt: new Date() }).where(and(eq(keys.id, id), eq(keys.managed, false))).returning({ id: keys.id });
  return rows.length === 1;
}
