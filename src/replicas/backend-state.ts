// A key's backend keys follow the gateway's record of it: the deletion lifecycle (scheduled,
// cancelled, done) and the key's tags. The record changes first, in a transaction that also queues
// the key's sync job; the job then brings one binding's backend key along per step and records
// what it applied. A binding whose connection is down stays out of step until a retry or the
// schedule's next round reaches it; a step repeated after a crash repeats only idempotent calls.
import type { BackendPhase, KeyRow } from '../db/schema/index.ts';
import type { MadeBinding } from '../db/queries/keys.ts';
import type { KeyState } from '../keys/lifecycle.ts';
import type { Connection } from '../routing/connection.ts';
import { isTagger, withCapability, type KeyProvider } from '../../providers/provider.ts';

const DAY = 86_400_000;

/** Where a key's state puts its backend keys: only deletion reaches them, use is the gateway's to allow. */
export const phaseOf = (state: KeyState): BackendPhase => (state === 'PENDING_DELETION' || state === 'DESTROYED' ? state : 'LIVE');

/** What a binding's backend key lacks: the key's phase, its tags, or both. */
export interface BackendChange { phase?: BackendPhase; tags?: Record<string, string> }

/** Tags as one comparable string: sorted, so that order does not count as a change. */
export const tagsText = (tags: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b))));

/**
 * What the binding's backend key lacks of the key's phase and tags; undefined when it is in step.
 * Keys the gateway only observes are never written to, and a destroyed backend key is done.
 * Tags are written while the key is live (AWS refuses them on a key pending deletion).
 */
export function backendChange(key: KeyRow, binding: MadeBinding, provider: KeyProvider): BackendChange | undefined {
  if (!key.managed || binding.appliedState === 'DESTROYED') return undefined;
  const phase = phaseOf(key.state);
  const tags = phase === 'LIVE' && isTagger(provider) && tagsText(binding.appliedTags ?? {}) !== tagsText(key.tags) ? key.tags : undefined;
  if (phase === binding.appliedState && !tags) return undefined;
  return { ...(phase !== binding.appliedState && { phase }), ...(tags && { tags }) };
}

/** Days left of the key's deletion window, within what backends allow (AWS: 7 to 30). */
const pendingDays = (key: KeyRow, now: Date) => Math.min(30, Math.max(7, Math.ceil(((key.deletionDate?.getTime() ?? now.getTime() + 30 * DAY) - now.getTime()) / DAY)));

/**
 * Brings the backend key to `change`; answers the tags it wrote, when it wrote tags. A backend
 * that runs its own deletion window and already waits out one is not asked to destroy: its window
 * ends it. One that missed the window (its connection was down) gets the shortest it has.
 */
export async function applyBackendChange(key: KeyRow, binding: MadeBinding, connection: Connection, change: BackendChange, now = new Date()): Promise<Record<string, string> | undefined> {
  const versions = { ref: binding.ref, versionRefs: [...binding.versions.values()] };
  if (change.phase === 'PENDING_DELETION') await connection.call('scheduleDeletion', (p) => p.scheduleDeletion({ ...versions, pendingDays: pendingDays(key, now) }));
  if (change.phase === 'LIVE') await connection.call('cancelDeletion', (p) => p.cancelDeletion(versions));
  if (change.phase === 'DESTROYED' && (connection.provider.capabilities.deletion === 'gateway' || binding.appliedState !== 'PENDING_DELETION')) {
    await connection.call('destroyKey', (p) => p.destroyKey(versions));
  }
  if (!change.tags) return undefined;
  const { tags } = change;
  return connection.call('setTags', (p) => withCapability(p, isTagger, 'tag keys').setTags({ ...versions, tags, previous: binding.appliedTags ?? {} }));
}

/** How a change reads in the job's notes, naming the tags the backend did not take. */
export function describeChange(change: BackendChange, written: Record<string, string> | undefined): string {
  const left = Object.keys(change.tags ?? {}).filter((k) => !(k in (written ?? {})));
  return [
    change.phase === 'PENDING_DELETION' ? 'deletion scheduled' : change.phase === 'LIVE' ? 'deletion cancelled' : change.phase === 'DESTROYED' ? 'destroyed' : undefined,
    change.tags && `tags written${left.length > 0 ? ` (left out, beyond the backend's grammar or its limit on tags: ${left.join(', ')})` : ''}`,
  ].filter(Boolean).join(', ');
}
