// Queries for discovery: matching backend keys to the bindings that know them, recording keys
// nobody made through the gateway, and finding bindings a complete pass did not see.
import { and, count, desc, eq, inArray, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { jobActive } from './jobs.ts';
import { bindingVersions, jobs, keyBindings, keyEvents, keys, type BackendPhase, type KeyRow } from '../schema/index.ts';

/** The reference of a binding that holds versions or is filtered on `made`: never null there. */
const madeRef = sql<string>`${keyBindings.ref}`;
const made = isNotNull(keyBindings.ref);

export interface KnownVersion { key: KeyRow; bindingId: string; bindingRef: string; version: number; versionRef: string; backendTags: Record<string, string> | null; appliedState: BackendPhase }

/** The key versions on a connection that hold these version references, or belong to bindings with these references. */
export async function knownVersions(db: Db, connection: string, versionRefs: string[], bindingRefs: string[]): Promise<KnownVersion[]> {
  if (versionRefs.length === 0 && bindingRefs.length === 0) return [];
  const which = [versionRefs.length > 0 && inArray(bindingVersions.versionRef, versionRefs), bindingRefs.length > 0 && inArray(keyBindings.ref, bindingRefs)].filter((c) => c !== false);
  return db.select({ key: keys, bindingId: keyBindings.id, bindingRef: madeRef, version: bindingVersions.version, versionRef: bindingVersions.versionRef, backendTags: keyBindings.backendTags, appliedState: keyBindings.appliedState })
    .from(bindingVersions)
    .innerJoin(keyBindings, eq(keyBindings.id, bindingVersions.bindingId))
    .innerJoin(keys, eq(keys.id, keyBindings.keyId))
    .where(and(eq(keyBindings.connection, connection), or(...which)));
}

/**
 * The managed keys among `ids` (the gateway keys backend keys say they were made for), each with
 * whether it may still take up a key it had made: it has a replica on `connection` not yet made, or
 * a sync job (`syncKind`) queued or running, which may be between a backend's answer and recording it.
 */
export async function gatewayKeysMadeFor(db: Db, connection: string, ids: string[], syncKind: string): Promise<Map<string, { syncing: boolean }>> {
  if (ids.length === 0) return new Map();
  // One binding at most per key and connection, one active job per kind and target.
  const rows = await db.select({ id: keys.id, pending: keyBindings.id, job: jobs.id }).from(keys)
    .leftJoin(keyBindings, and(eq(keyBindings.keyId, keys.id), eq(keyBindings.connection, connection), isNull(keyBindings.ref)))
    .leftJoin(jobs, and(eq(jobs.kind, syncKind), eq(jobs.target, keys.id), jobActive))
    .where(and(inArray(keys.id, ids), eq(keys.managed, true)));
  return new Map(rows.map((r) => [r.id, { syncing: r.pending !== null || r.job !== null }]));
}

export async function setBackendTags(db: Db, bindingId: string, tags: Record<string, string>): Promise<void> {
  await db.update(keyBindings).set({ backendTags: tags }).where(eq(keyBindings.id, bindingId));
}

export async function touchBindings(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length > 0) await db.update(keyBindings).set({ lastSeenAt: at }).where(inArray(keyBindings.id, ids));
}

/** Bindings on the connection that no pass since `since` has seen, of keys not destroyed. */
export async function unseenBindings(db: Db, connection: string, since: Date) {
  return db.select({ key: keys, bindingId: keyBindings.id, bindingRef: madeRef }).from(keyBindings)
    .innerJoin(keys, eq(keys.id, keyBindings.keyId))
    // A replica the sync job has not yet made has nothing to see.
    .where(and(eq(keyBindings.connection, connection), made, ne(keys.state, 'DESTROYED'), or(isNull(keyBindings.lastSeenAt), lt(keyBindings.lastSeenAt, since))));
}

/** The newest drift record per key, backend reference and field (of these keys, or all). */
function latestDrift(db: Db, keyIds?: string[]) {
  const ref = sql<string>`${keyEvents.detail}->>'ref'`.as('ref');
  const field = sql<string>`${keyEvents.detail}->>'field'`.as('field');
  return db.selectDistinctOn([keyEvents.keyId, ref, field], { keyId: keyEvents.keyId, ref, field, type: keyEvents.type, after: sql<string>`${keyEvents.detail}->>'after'`.as('after') })
    .from(keyEvents)
    .where(and(inArray(keyEvents.type, ['DRIFT', 'DRIFT_RESOLVED']), keyIds ? inArray(keyEvents.keyId, keyIds) : undefined))
    .orderBy(keyEvents.keyId, ref, field, desc(keyEvents.id));
}

/** What each key, reference and field drifted to last, or 'resolved': to record only what changed since. */
export async function lastDrift(db: Db, keyIds: string[]): Promise<Map<string, string>> {
  if (keyIds.length === 0) return new Map();
  const rows = await latestDrift(db, keyIds);
  return new Map(rows.map((r) => [`${r.keyId} ${r.ref} ${r.field}`, r.type === 'DRIFT' ? r.after : 'resolved']));
}

/** Keys whose drift on some field nothing has resolved yet. */
export async function openDriftKeys(db: Db): Promise<number> {
  const latest = latestDrift(db).as('latest');
  const [row] = await db.select({ n: sql<number>`count(distinct ${latest.keyId})`.mapWith(Number) }).from(latest).where(eq(latest.type, 'DRIFT'));
  return row?.n ?? 0;
}

/** Keys by provider, state and whether the gateway manages them. */
export async function keyCounts(db: Db) {
  return db.select({ provider: keys.provider, state: keys.state, managed: keys.managed, keys: count() }).from(keys).groupBy(keys.provider, keys.state, keys.managed);
}
