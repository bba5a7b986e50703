// Queries on bindings and their version maps.
import type { Db } from '../client.ts';
import { bindingVersions, keyBindings, keys, keyVersions } from '../schema/index.ts';
import { and, asc, eq, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type { BackendChange } from '../../replicas/backend-state.ts';
import type { BindingGraph } from './keys.ts';

export async function insertBinding(db: Db, row: typeof keyBindings.$inferInsert): Promise<void> {
  await db.insert(keyBindings).values(row);
}

/**
 * A binding is behind when it does not hold its key's current version (its connection was down during
 * the rotation): derived from the version map, never stored. For queries joining key_bindings and keys.
 */
export const bindingBehind = sql`not exists (select 1 from ${bindingVersions} where ${bindingVersions.bindingId} = ${keyBindings.id} and ${bindingVersions.version} = ${keys.currentVersion})`;

/**
 * Where a binding keeps an existing gateway version: one that was behind and caught up, or a replica
 * added since; with `ref` when it was that replica's first, which made its backend key.
 */
export async function catchUpBinding(db: Db, bindingId: string, version: number, versionRef: string, ref?: string): Promise<void> {
  if (ref !== undefined) await db.update(keyBindings).set({ ref }).where(eq(keyBindings.id, bindingId));
  await db.insert(bindingVersions).values({ bindingId, version, versionRef });
}

/** A binding behind on a key that is not destroyed (destroyed keys have nothing to catch up). */
const behindToSync = and(ne(keys.state, 'DESTROYED'), bindingBehind)!;

/** Whether the key has a binding to catch up, as a condition for queries. */
export const keyHasBindingBehind = (keyId: string) => sql`exists (select 1 from ${keyBindings} join ${keys} on ${keys.id} = ${keyBindings.keyId}
  where ${keyBindings.keyId} = ${keyId} and ${behindToSync})`;

/** Keys with a binding to catch up, for the scheduled sync. */
export async function keysBehind(db: Db, limit: number): Promise<string[]> {
  const rows = await db.selectDistinct({ keyId: keyBindings.keyId }).from(keyBindings).innerJoin(keys, eq(keys.id, keyBindings.keyId))
    .where(behindToSync).limit(limit);
  return rows.map((r) => r.keyId);
}

/** Records gateway version `version` of a key and where each binding keeps it. */
export async function insertVersion(db: Db, keyId: string, version: number, refs: { bindingId: string; versionRef: string }[]): Promise<void> {
  await db.insert(keyVersions).values({ keyId, version });
  if (refs.length > 0) await db.insert(bindingVersions).values(refs.map((r) => ({ ...r, version })));
}

export async function listVersions(db: Db, keyId: string) {
  return db.select({ version: keyVersions.version, createdAt: keyVersions.createdAt }).from(keyVersions)
    .where(eq(keyVersions.keyId, keyId)).orderBy(asc(keyVersions.version));
}

/**
 * A binding whose backend key lags its key's deletion phase or, on a connection that keeps tags
 * (`taggers`), its tags: the condition `backendChange` (src/replicas/backend-state.ts) decides in
 * code, for queries joining key_bindings and keys. A replica not yet made has no backend key to lag.
 */
const outOfStep = (taggers: string[]) => and(eq(keys.managed, true), isNotNull(keyBindings.ref), ne(keyBindings.appliedState, 'DESTROYED'), sql`(
  ${keyBindings.appliedState} <> case when ${keys.state} in ('PENDING_DELETION', 'DESTROYED') then ${keys.state} else 'LIVE' end
  or (${keys.state} not in ('PENDING_DELETION', 'DESTROYED') and ${inArray(keyBindings.connection, taggers)} and coalesce(${keyBindings.appliedTags}, '{}'::jsonb) <> ${keys.tags}))`)!;

/** Whether the key has a binding whose backend key lags it, as a condition for queries. */
export const keyHasBindingOutOfStep = (keyId: string, taggers: string[]) => sql`exists (select 1 from ${keyBindings} join ${keys} on ${keys.id} = ${keyBindings.keyId}
  where ${keyBindings.keyId} = ${keyId} and ${outOfStep(taggers)})`;

/** Keys with a binding whose backend key lags them, for the scheduled sync. */
export async function keysOutOfStep(db: Db, taggers: string[], limit: number): Promise<string[]> {
  const rows = await db.selectDistinct({ keyId: keyBindings.keyId }).from(keyBindings).innerJoin(keys, eq(keys.id, keyBindings.keyId))
    .where(outOfStep(taggers)).limit(limit);
  return rows.map((r) => r.keyId);
}

/**
 * Records what the sync job applied to a binding's backend key. Tags the gateway wrote join the
 * drift baseline (the backend's tags as discovery first saw them) and those it removed leave it,
 * so that discovery counts only changes made behind the gateway's back.
 */
export async function recordApplied(db: Db, binding: BindingGraph, change: BackendChange, written: Record<string, string> | undefined): Promise<void> {
  const baseline = binding.backendTags && written
    ? { ...Object.fromEntries(Object.entries(binding.backendTags).filter(([k]) => !(k in (binding.appliedTags ?? {})))), ...written }
    : binding.backendTags;
  await db.update(keyBindings).set({
    ...(change.phase && { appliedState: change.phase }),
    ...(change.tags && { appliedTags: change.tags, backendTags: baseline }),
  }).where(eq(keyBindings.id, binding.id));
}
