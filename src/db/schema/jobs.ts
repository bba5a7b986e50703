// Background jobs (discovery, compliance scans, replica sync and envelope repair): durable, resumable from their cursor
// after a crash, and run by exactly one instance at a time, the one holding the lease. A runner
// that stops renewing its lease (killed, partitioned) loses the job to the next one to claim it.
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const jobStatuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type JobStatus = (typeof jobStatuses)[number];

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const jobs = pgTable('jobs', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  /** What the job works on (a connection, say): one queued or running job per kind and target. */
  target: text('target').notNull(),
  status: text('status').$type<JobStatus>().notNull(),
  /** Where to resume, as the job kind understands it. */
  cursor: jsonb('cursor').$type<Record<string, unknown>>().notNull().default({}),
  progress: jsonb('progress').$type<Record<string, number>>().notNull().default({}),
  /** What the job found that needs a person (keys it could not record, say); bounded. */
  notes: jsonb('notes').$type<string[]>().notNull().default([]),
  error: text('error'),
  attempts: integer('attempts').notNull().default(0),
  leaseOwner: text('lease_owner'),
  leaseUntil: ts('lease_until'),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  startedAt: ts('started_at'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  finishedAt: ts('finished_at'),
}, (t) => [
  index('jobs_status_created_idx').on(t.status, t.createdAt),
  index('jobs_kind_target_idx').on(t.kind, t.target, t.createdAt),
  uniqueIndex('jobs_one_active_uq').on(t.kind, t.target).where(sql`status in ('QUEUED', 'RUNNING')`),
]);

export type JobRow = typeof jobs.$inferSelect;
