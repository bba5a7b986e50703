// The sync job of a key: replica bindings that missed a rotation (their connection was down) get the
// key's current version made on their backend, one binding per step, and are in sync again. Only the
// current version: envelopes sealed under an older one carry no wrap of the binding anyway, and new
// envelopes need the binding to hold the version they are sealed under.
import { KmsError } from '../errors.ts';
import type { Db } from '../db/client.ts';
import { catchUpBinding, keysBehind } from '../db/queries/bindings.ts';
import { queueJob } from '../db/queries/jobs.ts';
import { loadKeyGraphs, notifyKeyChanged } from '../db/queries/keys.ts';
import type { JobRow } from '../db/schema/index.ts';
import { newId } from '../ids.ts';
import type { JobKind, StepResult } from '../jobs/runner.ts';
import type { Connections } from '../routing/connection.ts';

export const SYNC = 'sync';

export class ReplicaSync implements JobKind {
  constructor(private readonly db: Db, private readonly connections: Connections) {}

  async step(job: JobRow): Promise<StepResult> {
    const [graph] = await loadKeyGraphs(this.db, [job.target]);
    if (!graph) throw new KmsError('NOT_FOUND', `key "${job.target}" does not exist`);
    const { key } = graph;
    const progress = { ...job.progress };
    // Behind is what a binding lacks, not what its status says: a rotation meanwhile may have caught it up.
    const behind = key.state === 'DESTROYED' ? [] : graph.bindings.filter((b) => !b.versions.has(key.currentVersion));
    const binding = behind[0];
    if (!binding) return { done: true, cursor: {}, progress };
    const made = await this.connections.get(binding.connection).call('createVersion', (p) => p.createVersion({
      ref: binding.ref, spec: key.spec, usage: key.usage, keyId: key.id, exportable: key.extractable, signingAlgorithm: key.signingAlgorithm ?? undefined,
    }));
    progress.caughtUp = (progress.caughtUp ?? 0) + 1;
    return {
      done: behind.length === 1, cursor: {}, progress,
      notes: [...job.notes, `${binding.connection}: version ${key.currentVersion} made`],
      write: async (db) => {
        await catchUpBinding(db, key.id, binding.id, key.currentVersion, made.versionRef);
        // Every instance's cache drops the key when the step commits, so encrypt wraps under the binding again.
        await notifyKeyChanged(db, key.id);
      },
    };
  }

  /** Queues the sync of keys with a binding behind, up to 1,000 a round (a rotation's own job may have run out of attempts). */
  async queueDue(by: string): Promise<number> {
    const keys = await keysBehind(this.db, 1_000);
    for (const keyId of keys) await queueJob(this.db, { id: newId('job'), kind: SYNC, target: keyId, createdBy: by });
    return keys.length;
  }
}
