// Queries on background jobs: enqueue (one active job per kind and target), claim under a lease
// with SKIP LOCKED so instances never take the same job, checkpoints guarded by the lease, and
// the end of a job.
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { executeRows, notify, type Db } from '../client.ts';
import { jobs, type JobRow } from '../schema/index.ts';

export const JOB_CHANNEL = 'kmsgw_jobs';
/** A job queued or running: the one-active index's condition, for queries on jobs. */
export const jobActive = sql`${jobs.status} in ('QUEUED', 'RUNNING')`;

/**
 * Queues a job, or answers the one of its kind and target already queued or running (the one-active
 * index decides between concurrent requests). Works inside the caller's transaction too: the active
 * job answered stays locked until that transaction ends, so that the job cannot end without seeing
 * what the caller wrote (the runner decides whether to end a job under the same row lock).
 */
export async function queueJob(db: Db, row: { id: string; kind: string; target: string; createdBy: string }): Promise<JobRow> {
  for (;;) {
    const [inserted] = await db.insert(jobs).values({ ...row, status: 'QUEUED' }).onConflictDoNothing().returning();
    if (inserted) {
      await notify(db, JOB_CHANNEL, row.id);
      return inserted;
    }
    // The active one may have ended since the insert met it (or ends while the lock waits): then the next insert goes in.
    const [active] = await db.select().from(jobs).where(and(eq(jobs.kind, row.kind), eq(jobs.target, row.target), jobActive)).for('update');
    if (active) return active;
  }
}

/**
 * Queues a job only while `due` holds as the insert runs, so that a schedule which listed its targets
 * a moment ago does not queue again what another instance's job has just done. False when not queued
 * (not due any more, or a job for the target is queued or running).
 */
export async function queueJobIfDue(db: Db, row: { id: string; kind: string; target: string; createdBy: string }, due: SQL): Promise<boolean> {
  const rows = await executeRows(db, sql`insert into ${jobs} (id, kind, target, status, created_by)
    select ${row.id}, ${row.kind}, ${row.target}, 'QUEUED', ${row.createdBy} where ${due} on conflict do nothing returning id`);
  if (rows.length === 0) return false;
  await notify(db, JOB_CHANNEL, row.id);
  return true;
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

export async function listJobs(db: Db, filter: { kind?: string; target?: string; status?: JobRow['status'] }, limit: number): Promise<JobRow[]> {
  return db.select().from(jobs)
    .where(and(filter.kind ? eq(jobs.kind, filter.kind) : undefined, filter.target ? eq(jobs.target, filter.target) : undefined, filter.status ? eq(jobs.status, filter.status) : undefined))
    .orderBy(desc(jobs.createdAt)).limit(limit);
}

/** Takes the oldest runnable job: queued and due, or running under a lease that ran out. */
export async function claimJob(db: Db, owner: string, leaseMs: number): Promise<JobRow | undefined> {
  const [row] = await db.update(jobs).set({
    status: 'RUNNING', leaseOwner: owner, leaseUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
    attempts: sql`${jobs.attempts} + 1`, startedAt: sql`coalesce(${jobs.startedAt}, now())`, updatedAt: new Date(),
  }).where(sql`${jobs.id} = (
      select id from jobs
      where (status = 'QUEUED' and (lease_until is null or lease_until < now())) or (status = 'RUNNING' and lease_until < now())
      order by created_at limit 1 for update skip locked
    )`).returning();
  return row;
}

/** Records progress and renews the lease; false when the lease is no longer this owner's. */
export async function checkpoint(db: Db, id: string, owner: string, leaseMs: number, set: Pick<JobRow, 'cursor' | 'progress' | 'notes'>): Promise<boolean> {
  const rows = await db.update(jobs).set({ ...set, leaseUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval`, updatedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, 'RUNNING'))).returning({ id: jobs.id });
  return rows.length === 1;
}

export async function finishJob(db: Db, id: string, owner: string, outcome: { status: 'SUCCEEDED' | 'FAILED'; error?: string }): Promise<void> {
  await db.update(jobs).set({ status: outcome.status, error: outcome.error ?? null, leaseOwner: null, leaseUntil: null, finishedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner)));
}

/** Puts a failed attempt back in the queue until `retryAt`. */
export async function requeueJob(db: Db, id: string, owner: string, error: string, retryAt: Date): Promise<void> {
  await db.update(jobs).set({ status: 'QUEUED', error, leaseOwner: null, leaseUntil: retryAt, updatedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner)));
}
