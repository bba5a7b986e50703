// Runs background jobs on every instance: a job is claimed by one instance under a lease, worked a
// step at a time (each step's writes and its checkpoint commit together, so a crash resumes at the
// last checkpoint and a repeated step finds its work done), and renewed at each checkpoint. An
// instance that dies loses the lease and another takes the job over. Wakes on NOTIFY of a new job
// and polls besides, for leases that run out.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database, Db } from '../db/client.ts';
import { checkpoint, claimJob, finishJob, JOB_CHANNEL, requeueJob } from '../db/queries/jobs.ts';
import type { JobRow } from '../db/schema/index.ts';
import { newId } from '../ids.ts';

/**
 * What one step did: where to resume, what it counted, what a person should look at, and its
 * database writes, which the runner commits together with the checkpoint.
 */
export interface StepResult {
  done: boolean;
  cursor: Record<string, unknown>;
  progress: Record<string, number>;
  notes?: string[];
  write?: (db: Db) => Promise<void>;
}

/**
 * A kind of job: one step reads what it needs (provider calls happen here) and returns its writes.
 * `due` says whether work for the target came up while the job ran (a caller queued onto the job
 * after its step had read what to do): a job that ends while work is due goes round again.
 */
export interface JobKind {
  step(job: JobRow): Promise<StepResult>;
  due?(db: Db, target: string): Promise<boolean>;
}

export interface RunnerOptions { leaseMs: number; pollMs: number; maxAttempts: number }
const defaults: RunnerOptions = { leaseMs: 30_000, pollMs: 2_000, maxAttempts: 5 };
const MAX_NOTES = 100;
/** Rounds one run goes when work keeps coming due; then the job ends and the kind's schedule takes the rest. */
const MAX_ROUNDS = 3;

class LeaseLost extends Error {}

export class JobRunner {
  readonly owner = `${hostname()}/${process.pid}/${newId('job').slice(-6)}`;
  private timer?: NodeJS.Timeout;
  private unlisten?: () => Promise<void>;
  private running?: Promise<void>;
  private stopped = false;
  private readonly options: RunnerOptions;

  constructor(private readonly database: Database, private readonly kinds: Record<string, JobKind>, private readonly logger: Logger, options: Partial<RunnerOptions> = {}) {
    this.options = { ...defaults, ...options };
  }

  /** Starts working jobs; a second call changes nothing. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.unlisten = await this.database.listen(JOB_CHANNEL, () => this.wake(), () => this.wake());
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.unlisten?.();
    await this.running;
  }

  /** Works jobs until none is runnable; one loop at a time per instance. */
  wake(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().catch((err) => this.logger.error({ err }, 'job runner failed')).finally(() => { this.running = undefined; });
  }

  private async drain(): Promise<void> {
    for (let job = await this.claim(); job && !this.stopped; job = await this.claim()) await this.run(job);
  }

  private claim() {
    return claimJob(this.database.db, this.owner, this.options.leaseMs);
  }

  private async run(job: JobRow): Promise<void> {
    const db = this.database.db;
    const kind = this.kinds[job.kind];
    if (!kind) return finishJob(db, job.id, this.owner, { status: 'FAILED', error: `no runner for job kind "${job.kind}"` });
    this.logger.info({ jobId: job.id, kind: job.kind, target: job.target, attempt: job.attempts }, 'job started');
    let current = job;
    let rounds = 1;
    try {
      while (!this.stopped) {
        const result = await kind.step(current);
        const notes = (result.notes ?? current.notes).slice(0, MAX_NOTES);
        const outcome = await db.transaction(async (tx) => {
          await result.write?.(tx);
          // Another instance took the job over: this step's writes must not land.
          if (!await checkpoint(tx, current.id, this.owner, this.options.leaseMs, { cursor: result.cursor, progress: result.progress, notes })) throw new LeaseLost();
          if (!result.done) return 'next';
          // The checkpoint holds the job's row until this transaction ends: a caller who found the job
          // active and queued work onto it has committed by now (its work is seen here), or waits and
          // then finds the job ended (and queues a new one).
          if (rounds < MAX_ROUNDS && await kind.due?.(tx, current.target)) {
            await checkpoint(tx, current.id, this.owner, this.options.leaseMs, { cursor: {}, progress: result.progress, notes });
            return 'again';
          }
          await finishJob(tx, current.id, this.owner, { status: 'SUCCEEDED' });
          return 'finished';
        });
        if (outcome === 'finished') {
          this.logger.info({ jobId: job.id, progress: result.progress }, 'job finished');
          return;
        }
        if (outcome === 'again') rounds++;
        current = { ...current, cursor: outcome === 'again' ? {} : result.cursor, progress: result.progress, notes };
      }
    } catch (err) {
      if (err instanceof LeaseLost) return;
      const message = err instanceof Error ? err.message : String(err);
      if (job.attempts >= this.options.maxAttempts) {
        await finishJob(db, job.id, this.owner, { status: 'FAILED', error: message });
        this.logger.error({ err, jobId: job.id }, 'job failed for good');
      } else {
        const retryAt = new Date(Date.now() + Math.min(60_000, 1_000 * 2 ** job.attempts));
        await requeueJob(db, job.id, this.owner, message, retryAt);
        this.logger.warn({ err, jobId: job.id, retryAt }, 'job step failed; will retry');
      }
    }
  }
}
