// Discovery of a connection: every key its credentials can see, a page per job step. A backend key
// that a gateway key holds is matched to it: its state is checked against what the gateway expects
// and a difference is recorded as drift (once, until it changes again). Any other key is recorded as
// *observed*: listed in the inventory, never used until adopted. When the last page is done, the
// bindings the pass did not see are gone: drift for managed keys, destroyed for observed ones.
import { newId } from '../ids.ts';
import { KmsError } from '../errors.ts';
import type { Db } from '../db/client.ts';
import { insertKey, notifyKeyChanged, updateKeyGuarded } from '../db/queries/keys.ts';
import { insertBinding, insertVersion } from '../db/queries/bindings.ts';
import { insertEvent } from '../db/queries/events.ts';
import { gatewayKeysMadeFor, knownVersions, lastDrift, setBackendTags, touchBindings, unseenBindings, type KnownVersion } from '../db/queries/inventory.ts';
import type { BackendPhase, JobRow } from '../db/schema/index.ts';
import type { KeyState } from '../keys/lifecycle.ts';
import type { Connection, Connections } from '../routing/connection.ts';
import { isDiscoverer, type DiscoveredKey } from '../../providers/provider.ts';
import type { JobKind, StepResult } from '../jobs/runner.ts';
import { tagsText } from '../replicas/backend-state.ts';
import { SYNC } from '../replicas/sync.ts';

export const DISCOVERY = 'discovery';
const PAGE_SIZE = 100;
const ACTOR = 'system:discovery';

const observedState: Record<DiscoveredKey['state'], KeyState> = {
  ENABLED: 'ACTIVE', DISABLED: 'SUSPENDED', PENDING_DELETION: 'PENDING_DELETION', DESTROYED: 'DESTROYED', OTHER: 'PRE_ACTIVE',
};

/**
 * The state a managed key's backend key should be in: as far along the key's lifecycle as the sync
 * job has brought it (a change on its way is not drift).
 */
function expectedState(applied: BackendPhase, connection: Connection): DiscoveredKey['state'] {
  if (applied === 'DESTROYED') return 'DESTROYED';
  if (applied === 'PENDING_DELETION' && connection.provider.capabilities.deletion === 'provider') return 'PENDING_DELETION';
  return 'ENABLED';
}

/** A backend's automatic rotation as a period; one without a stated period is taken as yearly. */
const rotationDays = (found: DiscoveredKey) => (found.rotation?.enabled ? found.rotation.periodDays ?? 365 : null);

/**
 * What discovery compares on a managed key: [field, what the gateway expects, what the backend has].
 * State: a key the gateway destroyed may still sit in the backend's own deletion window. Rotation:
 * the gateway rotates its own keys, so their backend rotation should be off; an adopted key keeps
 * the rotation it was adopted with. Tags: the backend's tags when first seen are the baseline (the
 * gateway keeps its own tags and does not write them to backends). Version: on a backend that
 * versions keys itself, the version in use should be the gateway's current one. Access: the
 * gateway's credentials should be able to read the key.
 */
function driftChecks(match: Match, found: DiscoveredKey, connection: Connection): [string, string, string][] {
  // A key the credentials may no longer read: that alone is known of it, and is drift until they can.
  const access: [string, string, string] = ['access', 'readable', found.unreadable ? 'refused' : 'readable'];
  if (found.unreadable) return [access];
  const expected = expectedState(match.appliedState, connection);
  const state = expected === 'DESTROYED' && found.state === 'PENDING_DELETION' ? 'DESTROYED' : found.state;
  const checks: [string, string, string][] = [access, ['state', expected, state]];
  if (found.rotation) {
    const expected = match.key.origin === 'PROVIDER' && match.key.rotationPeriodDays !== null ? 'on' : 'off';
    checks.push(['rotation', expected, found.rotation.enabled ? 'on' : 'off']);
  }
  if (match.backendTags !== null) checks.push(['tags', tagsText(match.backendTags), tagsText(found.tags)]);
  if (versioned(found) && match.currentRef) checks.push(['version', match.currentRef, found.versionRef]);
  return checks;
}

/** Backends that version keys themselves (Key Vault, Cloud KMS) report a key once, at the version in use. */
const versioned = (found: DiscoveredKey) => found.ref !== found.versionRef;
/** Keys found by their binding's reference too: on a versioning backend, and when unreadable (version unknown). */
const byKeyRef = (found: DiscoveredKey) => versioned(found) || found.unreadable !== undefined;

/**
 * The binding a backend key belongs to, with the version reference of the key's current version,
 * and whether the backend's version in use is one the inventory has not seen (made at the backend).
 */
type Match = KnownVersion & { currentRef?: string; newVersion: boolean };

/**
 * Finds the bindings of a page's keys: by version reference, or, on a versioning backend, by the
 * key's reference, so that a version made outside the gateway does not turn its key into a new one.
 */
async function matchPage(db: Db, connection: string, found: DiscoveredKey[]): Promise<{ match: (k: DiscoveredKey) => Match | undefined; known: KnownVersion[] }> {
  const known = await knownVersions(db, connection, found.map((k) => k.versionRef), found.filter(byKeyRef).map((k) => k.ref));
  const byVersion = new Map(known.map((k) => [k.versionRef, k]));
  const byBinding = new Map(known.map((k) => [k.bindingRef, k]));
  const current = new Map(known.filter((k) => k.version === k.key.currentVersion).map((k) => [k.bindingId, k.versionRef]));
  const match = (k: DiscoveredKey) => {
    const row = byVersion.get(k.versionRef) ?? (byKeyRef(k) ? byBinding.get(k.ref) : undefined);
    return row && { ...row, currentRef: current.get(row.bindingId), newVersion: !byVersion.has(k.versionRef) };
  };
  return { match, known };
}

interface Cursor { page?: string; startedAt?: string }

export class Discovery implements JobKind {
  constructor(private readonly db: Db, private readonly connections: Connections) {}

  /** Whether a connection can be discovered: its provider lists keys. */
  supports(connection: string): boolean {
    return isDiscoverer(this.connections.get(connection).provider);
  }

  async step(job: JobRow): Promise<StepResult> {
    const connection = this.connections.get(job.target);
    const provider = connection.provider;
    if (!isDiscoverer(provider)) throw new KmsError('UNIMPLEMENTED', `connection "${connection.name}" (${provider.kind}) cannot list its keys`);
    const cursor = job.cursor as Cursor;
    const startedAt = cursor.startedAt ?? new Date().toISOString();
    const page = await connection.call('discoverKeys', () => provider.discoverKeys({ cursor: cursor.page, pageSize: PAGE_SIZE, pace: () => connection.pace() }));
    const progress = { ...job.progress };
    const count = (name: string, n = 1) => { progress[name] = (progress[name] ?? 0) + n; };
    const notes = [...job.notes];
    count('pages');
    count('seen', page.keys.length);
    const { match: matchOf, known } = await matchPage(this.db, connection.name, page.keys);
    const drift = await lastDrift(this.db, [...new Set(known.filter((k) => k.key.managed).map((k) => k.key.id))]);
    const madeFor = await gatewayKeysMadeFor(this.db, connection.name, [...new Set(page.keys.filter((k) => !matchOf(k)).flatMap((k) => k.gatewayKeyId ?? []))], SYNC);
    const now = new Date();
    const writes: ((db: Db) => Promise<void>)[] = [];
    const changed = new Set<string>();
    const listed = new Set<string>();
    for (const found of page.keys) {
      // A backend may hold two keys under one reference (PKCS#11 lets two objects share a label and an
      // id): a caller could not tell them apart, so the inventory records one, and says so.
      if (listed.has(found.ref)) {
        count('duplicates');
        notes.push(`${found.ref}: listed twice by the backend (two keys under one reference, which no caller can tell apart); recorded once`);
        continue;
      }
      listed.add(found.ref);
      const match = matchOf(found);
      if (found.unreadable) {
        // Still there (so never swept as gone), but nothing else about it can be compared or recorded.
        count('unreadable');
        const outcome = match?.key.managed ? 'drift on its key until they can' : match ? 'its record is left as it was' : 'not recorded';
        notes.push(`${found.ref}: listed, but these credentials may not read it (${found.unreadable}); ${outcome}`);
        if (!match?.key.managed) continue;
      }
      if (match?.key.managed) {
        count('managed');
        for (const [field, expected, now] of driftChecks(match, found, connection)) {
          const last = drift.get(`${match.key.id} ${found.ref} ${field}`);
          if (now !== expected && last !== now) {
            count('drift');
            writes.push((db) => insertEvent(db, { keyId: match.key.id, type: 'DRIFT', actor: ACTOR, detail: { connection: connection.name, ref: found.ref, field, before: expected, after: now } }));
            changed.add(match.key.id);
          } else if (now === expected && last !== undefined && last !== 'resolved') {
            writes.push((db) => insertEvent(db, { keyId: match.key.id, type: 'DRIFT_RESOLVED', actor: ACTOR, detail: { connection: connection.name, ref: found.ref, field, after: now } }));
            changed.add(match.key.id);
          }
        }
        if (match.backendTags === null && !found.unreadable) writes.push((db) => setBackendTags(db, match.bindingId, found.tags));
      } else if (match) {
        // An observed key rotated at its backend gets the new version, so that once adopted it uses it.
        const version = match.key.currentVersion + (match.newVersion ? 1 : 0);
        const after = { state: observedState[found.state], tags: found.tags, rotationPeriodDays: found.rotation ? rotationDays(found) : match.key.rotationPeriodDays, currentVersion: version };
        const before = { state: match.key.state, tags: match.key.tags, rotationPeriodDays: match.key.rotationPeriodDays, currentVersion: match.key.currentVersion };
        if (match.newVersion || after.state !== before.state || tagsText(after.tags) !== tagsText(before.tags) || after.rotationPeriodDays !== before.rotationPeriodDays) {
          count('changed');
          writes.push(async (db) => {
            if (match.newVersion) await insertVersion(db, match.key.id, version, [{ bindingId: match.bindingId, versionRef: found.versionRef }]);
            await updateKeyGuarded(db, match.key.id, [before.state], after);
            await setBackendTags(db, match.bindingId, found.tags);
            await insertEvent(db, { keyId: match.key.id, type: 'OBSERVED_CHANGE', fromState: before.state, toState: after.state, actor: ACTOR, detail: { connection: connection.name, ref: found.ref, before, after } });
          });
          changed.add(match.key.id);
        }
      } else if (!found.spec || !found.usage) {
        count('unsupported');
        notes.push(`${found.ref}: ${found.nativeSpec} has no gateway spec; not recorded`);
      } else if (found.gatewayKeyId && madeFor.get(found.gatewayKeyId)?.syncing) {
        // Perhaps made by the key's sync job and not yet recorded, or to be found again by its retry
        // (findCreated): a later pass decides.
        count('awaitingSync');
      } else {
        count('discovered');
        const orphan = found.gatewayKeyId !== undefined && madeFor.has(found.gatewayKeyId);
        if (orphan && found.state !== 'PENDING_DELETION' && found.state !== 'DESTROYED') {
          count('orphans');
          notes.push(`${found.ref}: made for gateway key ${found.gatewayKeyId}, which does not use it; once checked, schedule its deletion at the backend`);
        }
        writes.push((db) => recordObserved(db, connection, found, now, orphan));
      }
    }
    const seen = [...new Set(known.map((k) => k.bindingId))];
    const done = page.next === undefined;
    return {
      done, progress, notes, cursor: done ? {} : { page: page.next, startedAt },
      write: async (db) => {
        for (const w of writes) await w(db);
        await touchBindings(db, seen, now);
        // A key discovered just now is seen now too: recordObserved stamps it.
        if (done) await this.sweepUnseen(db, connection, new Date(startedAt), count, changed);
        // Every instance's cache drops these keys when the step commits.
        for (const id of changed) await notifyKeyChanged(db, id);
      },
    };
  }

  /** After a complete pass: what it did not see is gone from the backend. */
  private async sweepUnseen(db: Db, connection: Connection, since: Date, count: (name: string) => void, changed: Set<string>): Promise<void> {
    const unseen = await unseenBindings(db, connection.name, since);
    const drift = await lastDrift(db, unseen.filter((u) => u.key.managed).map((u) => u.key.id));
    for (const gone of unseen) {
      count('gone');
      if (gone.key.managed && drift.get(`${gone.key.id} ${gone.bindingRef} presence`) === 'GONE') continue; // recorded by an earlier pass
      changed.add(gone.key.id);
      if (gone.key.managed) {
        await insertEvent(db, { keyId: gone.key.id, type: 'DRIFT', actor: ACTOR, detail: { connection: connection.name, ref: gone.bindingRef, field: 'presence', before: 'present', after: 'GONE' } });
      } else {
        await updateKeyGuarded(db, gone.key.id, [gone.key.state], { state: 'DESTROYED', destroyedAt: new Date() });
        await insertEvent(db, { keyId: gone.key.id, type: 'OBSERVED_CHANGE', fromState: gone.key.state, toState: 'DESTROYED', actor: ACTOR, detail: { after: 'GONE' } });
      }
    }
  }
}

/**
 * What the inventory says of an observed key made for a gateway key. One this gateway knows but never
 * recorded as its version is an orphan: the creation was interrupted (a crash or a lost answer after
 * the backend acted), or made after the backup this gateway was restored from.
 */
function madeForText(found: DiscoveredKey, orphan: boolean): string {
  if (!found.gatewayKeyId) return '';
  return orphan
    ? `made for gateway key ${found.gatewayKeyId}, which does not use it (an interrupted creation, or one made after the backup this gateway was restored from)`
    : `made for gateway key ${found.gatewayKeyId}, which this gateway does not know`;
}

/** A backend key nobody made through the gateway, or made for a gateway key that does not use it. */
async function recordObserved(db: Db, connection: Connection, found: DiscoveredKey, now: Date, orphan: boolean): Promise<void> {
  const id = newId('key');
  const bindingId = newId('bnd');
  const state = observedState[found.state];
  await insertKey(db, {
    id, spec: found.spec!, usage: found.usage!, state, origin: 'PROVIDER', managed: false, currentVersion: 1,
    connection: connection.name, provider: connection.provider.kind,
    description: madeForText(found, orphan),
    tags: found.tags, rotationPeriodDays: rotationDays(found),
    // What the backend does not say is assumed the safer way: material never leaves it.
    extractable: false, neverExtractable: true, sensitive: true, alwaysSensitive: true,
    createdAt: found.createdAt ?? now, destroyedAt: state === 'DESTROYED' ? now : null,
  });
  await insertBinding(db, { id: bindingId, keyId: id, connection: connection.name, provider: connection.provider.kind, ref: found.ref, role: 'primary', lastSeenAt: now, backendTags: found.tags });
  await insertVersion(db, id, 1, [{ bindingId, versionRef: found.versionRef }]);
  await insertEvent(db, { keyId: id, type: 'DISCOVERED', toState: state, actor: ACTOR, detail: { connection: connection.name, ref: found.ref, nativeSpec: found.nativeSpec, ...(orphan && { orphanOf: found.gatewayKeyId }) } });
}
