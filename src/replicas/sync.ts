// The sync job of a key. First, replica bindings behind the key (added to it and not yet made, or
// their connection was down at a rotation) are made or caught up, one version per step. An
// independent replica gets the current version only: envelopes sealed under an older one carry no
// wrap of it anyway, and new envelopes need the binding to hold the version they are sealed under.
// A same-material replica gets every version the primary holds, oldest first, copied from the
// primary's, so that it opens, signs and verifies all the key's data. Then backend keys that lag
// the key's deletion phase or tags are brought along (backend-state.ts), one binding per step. Then
// envelopes sealed while a binding could not wrap get its wrap, a batch per step.
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import pMap from 'p-map';
import { KmsError } from '../errors.ts';
import { executeRows, type Db } from '../db/client.ts';
import { catchUpBinding, keyHasBindingBehind, keyHasBindingOutOfStep, keysBehind, keysOutOfStep, recordApplied } from '../db/queries/bindings.ts';
import { addRepairWraps, keyHasRepairs, keysAwaitingRepair, pendingRepairs, wrapsOf, wrapsRecord, type EnvelopeRepairRow } from '../db/queries/envelope-repairs.ts';
import { queueJobIfDue } from '../db/queries/jobs.ts';
import { isMade, loadKeyGraphs, notifyKeyChanged, primaryBinding, type BindingGraph, type KeyGraph, type MadeBinding } from '../db/queries/keys.ts';
import type { JobRow } from '../db/schema/index.ts';
import { newId } from '../ids.ts';
import type { JobKind, StepResult } from '../jobs/runner.ts';
import type { CryptoService } from '../keys/crypto.ts';
import { versionRequest } from '../keys/model.ts';
import type { Connections } from '../routing/connection.ts';
import { isCreationFinder, isTagger, withCapability, type KeyVersionRef } from '../../providers/provider.ts';
import { applyBackendChange, backendChange, describeChange, type BackendChange } from './backend-state.ts';
import { copyVersion } from './copy.ts';

export const SYNC = 'sync';
const REPAIR_BATCH = 100;
/** Envelopes repaired at once: each costs an unwrap and a wrap per missing binding. */
const REPAIR_CONCURRENCY = 8;

/** What the repair of one envelope added, and the missing wraps no binding can give it. */
interface Repair { row: EnvelopeRepairRow; added: Record<string, string>; unrepairable: string[] }

/** A catch-up recorded before its backend call: which binding, which version, under which operation id. */
interface CatchUpIntent { binding: string; version: number; operation: string }

/** Whether a key has sync work: a binding behind or out of step (on `taggers`), or envelopes awaiting a wrap. */
const dueCondition = (keyId: string, taggers: string[]): SQL => sql`(${keyHasBindingBehind(keyId)} or ${keyHasBindingOutOfStep(keyId, taggers)} or ${keyHasRepairs(keyId)})`;

/** The version a binding behind makes next: a same-material replica's oldest the primary holds and it lacks, else the current one. */
function nextVersion(graph: KeyGraph, binding: BindingGraph): number {
  const { currentVersion } = graph.key;
  if (!binding.sameMaterial) return currentVersion;
  const lacking = [...primaryBinding(graph).versions.keys()].filter((v) => !binding.versions.has(v));
  return Math.min(currentVersion, ...lacking);
}

export class ReplicaSync implements JobKind {
  /** Operation ids this process recorded and has not yet asked a backend with: no search is needed for them. */
  private readonly unattempted = new Set<string>();

  constructor(private readonly db: Db, private readonly connections: Connections, private readonly crypto: Pick<CryptoService, 'rewrap'>) {}

  async step(job: JobRow): Promise<StepResult> {
    const [graph] = await loadKeyGraphs(this.db, [job.target]);
    if (!graph) throw new KmsError('NOT_FOUND', `key "${job.target}" does not exist`);
    const behind = graph.key.state === 'DESTROYED' ? undefined : graph.bindings.find((b) => !b.versions.has(graph.key.currentVersion));
    if (behind) return this.catchUp(job, graph, behind);
    for (const binding of graph.bindings.filter(isMade)) {
      const change = backendChange(graph.key, binding, this.connections.get(binding.connection).provider);
      if (change) return this.follow(job, graph, binding, change);
    }
    return this.repair(job, graph);
  }

  /** Brings one binding's backend key to the key's deletion phase and tags. */
  private async follow(job: JobRow, graph: KeyGraph, binding: MadeBinding, change: BackendChange): Promise<StepResult> {
    const written = await applyBackendChange(graph.key, binding, this.connections.get(binding.connection), change);
    return {
      done: false, cursor: job.cursor, progress: { ...job.progress, backendUpdates: (job.progress.backendUpdates ?? 0) + 1 },
      notes: [...job.notes, `${binding.connection}: ${describeChange(change, written)}`],
      write: async (db) => {
        await recordApplied(db, binding, change, written);
        await notifyKeyChanged(db, graph.key.id);
      },
    };
  }

  /**
   * Makes a version in two steps. The first records the intent (an operation id) in the job's
   * cursor before the backend is asked; the second asks the backend to make the version under that
   * id. If the second step did not complete in this process (the instance died between the backend's
   * answer and the commit, or the call failed or timed out after the backend acted), the retry first
   * looks for what the id made, so that it never makes a second version (on AWS, a second key);
   * a replica's new key and a copy into a same-material replica carry the id as well.
   */
  private async catchUp(job: JobRow, graph: KeyGraph, binding: BindingGraph): Promise<StepResult> {
    const { key } = graph;
    const version = nextVersion(graph, binding);
    const intent = job.cursor.catchUp as CatchUpIntent | undefined;
    if (intent?.binding !== binding.id || intent.version !== version) {
      const operation = randomUUID();
      this.unattempted.add(operation);
      return { done: false, cursor: { ...job.cursor, catchUp: { binding: binding.id, version, operation } }, progress: job.progress };
    }
    const connection = this.connections.get(binding.connection);
    const { operation } = intent;
    const retried = !this.unattempted.delete(operation);
    const found = retried && isCreationFinder(connection.provider)
      ? await connection.call('findCreated', (p) => withCapability(p, isCreationFinder, 'find creations').findCreated({ ref: binding.ref ?? undefined, keyId: key.id, operation }))
      : undefined;
    const made = found ?? await this.make(graph, binding, version, operation);
    const cursor = { ...job.cursor };
    delete cursor.catchUp;
    const what = binding.ref === null ? `replica with version ${version}` : `version ${version}`;
    return {
      done: false, cursor, progress: { ...job.progress, caughtUp: (job.progress.caughtUp ?? 0) + 1 },
      notes: [...job.notes, `${binding.connection}: ${what} ${found ? 'found made by an interrupted attempt' : 'made'}`],
      write: async (db) => {
        await catchUpBinding(db, binding.id, version, made.versionRef, binding.ref === null ? made.ref : undefined);
        // Every instance's cache drops the key when the step commits, so encrypt wraps under the binding again.
        await notifyKeyChanged(db, key.id);
      },
    };
  }

  /** The binding's `version` made under `operation`: copied from the primary, or new material, on its backend key or a new one. */
  private make(graph: KeyGraph, binding: BindingGraph, version: number, operation: string): Promise<KeyVersionRef> {
    const { key } = graph;
    const connection = this.connections.get(binding.connection);
    if (binding.sameMaterial) {
      const primary = primaryBinding(graph);
      const versionRef = primary.versions.get(version)!;
      return copyVersion(key, { connection: this.connections.get(primary.connection), ref: primary.ref, versionRef }, connection, binding.ref ?? undefined, { operation, tags: binding.appliedTags ?? {} });
    }
    if (!isMade(binding)) {
      // An independent replica never exports: it wraps envelopes' data keys only.
      return connection.call('createKey', (p) => p.createKey({ spec: key.spec, usage: key.usage, exportable: false, keyId: key.id, signingAlgorithm: key.signingAlgorithm ?? undefined, operation }));
    }
    return connection.call('createVersion', (p) => p.createVersion({ ...versionRequest(key, binding), operation }));
  }

  /** Adds the missing wraps of a batch of envelopes, in message id order from the cursor. */
  private async repair(job: JobRow, graph: KeyGraph): Promise<StepResult> {
    const after = typeof job.cursor.after === 'string' ? Buffer.from(job.cursor.after, 'hex') : undefined;
    const rows = await pendingRepairs(this.db, graph.key.id, after, REPAIR_BATCH);
    const repairs = await pMap(rows, (row) => this.repairOne(graph, row), { concurrency: REPAIR_CONCURRENCY });
    const progress = { ...job.progress };
    const notes = [...job.notes];
    for (const r of repairs) {
      progress.wrapsAdded = (progress.wrapsAdded ?? 0) + Object.keys(r.added).length;
      if (r.unrepairable.length === 0) progress.repaired = (progress.repaired ?? 0) + 1;
      else {
        progress.unrepairable = (progress.unrepairable ?? 0) + 1;
        notes.push(`envelope ${Buffer.from(r.row.messageId).toString('hex')} (version ${r.row.keyVersion}) can get no wrap of ${r.unrepairable.join(', ')}: the binding is gone or never held the version`);
      }
    }
    const last = rows.at(-1);
    return {
      done: rows.length < REPAIR_BATCH, cursor: last ? { after: Buffer.from(last.messageId).toString('hex') } : job.cursor, progress, notes,
      write: async (db) => {
        for (const r of repairs) await addRepairWraps(db, r.row.messageId, r.added);
      },
    };
  }

  private async repairOne(graph: KeyGraph, row: EnvelopeRepairRow): Promise<Repair> {
    const targets = graph.bindings.filter((b) => row.missing.includes(b.id) && b.versions.has(row.keyVersion));
    // A binding removed since, or one that never made this version (the key was rotated again before it caught up).
    const unrepairable = row.missing.filter((id) => !targets.some((b) => b.id === id));
    const made = targets.length === 0 ? [] : await this.crypto.rewrap(graph, row.keyVersion, Buffer.from(row.header), wrapsOf(row), targets);
    if (!made) return { row, added: {}, unrepairable: row.missing };
    return { row, added: wrapsRecord(made), unrepairable };
  }

  /** Whether the key has a binding behind or out of step, or envelopes awaiting a wrap. */
  async due(db: Db, keyId: string): Promise<boolean> {
    const [row] = await executeRows<{ due: boolean }>(db, sql`select ${dueCondition(keyId, this.taggers())} as due`);
    return row!.due;
  }

  /**
   * Queues the sync of keys with a binding behind or out of step, or envelopes awaiting a wrap, up to
   * 1,000 of each a round (a key's own job may have run out of attempts, or waited for a connection).
   * Each is queued only if still due as it is queued: another instance's job may have synced it since.
   * Answers how many were queued.
   */
  async queueDue(by: string): Promise<number> {
    const taggers = this.taggers();
    const keys = new Set([...await keysBehind(this.db, 1_000), ...await keysOutOfStep(this.db, taggers, 1_000), ...await keysAwaitingRepair(this.db, 1_000)]);
    let queued = 0;
    for (const keyId of keys) {
      if (await queueJobIfDue(this.db, { id: newId('job'), kind: SYNC, target: keyId, createdBy: by }, dueCondition(keyId, taggers))) queued++;
    }
    return queued;
  }

  private taggers(): string[] {
    return this.connections.all().filter((c) => isTagger(c.provider)).map((c) => c.name);
  }
}
