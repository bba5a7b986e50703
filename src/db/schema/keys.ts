// The gateway's logical keys: model, lifecycle state and crypto-period dates.
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../../keys/specs.ts';
import type { KeyState } from '../../keys/lifecycle.ts';
import { boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** Listings sort by these: kept to the millisecond a cursor (and JavaScript) carries, so that a page resumes exactly. */
const sortableTs = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const keys = pgTable('keys', {
  id: text('id').primaryKey(),
  spec: text('spec').$type<KeySpec>().notNull(),
  usage: text('usage').$type<KeyUsage>().notNull(),
  /** The one algorithm a SIGN_VERIFY key signs with, when pinned (at the caller's wish, or because the backend fixes it per key). */
  signingAlgorithm: text('signing_algorithm').$type<SigningAlgorithm>(),
  state: text('state').$type<KeyState>().notNull(),
  stateBeforeDeletion: text('state_before_deletion').$type<KeyState>(),
  description: text('description').notNull().default(''),
  tags: jsonb('tags').$type<Record<string, string>>().notNull().default({}),
  origin: text('origin').notNull(),
  /** False for keys discovery found at a backend and nobody adopted: listed, never used. */
  managed: boolean('managed').notNull().default(true),
  /** The primary binding's connection and provider, kept here so inventory filters need no join. */
  connection: text('connection').notNull(),
  provider: text('provider').notNull(),
  currentVersion: integer('current_version').notNull(),
  rotationPeriodDays: integer('rotation_period_days'),
  nextRotationAt: sortableTs('next_rotation_at'),
  extractable: boolean('extractable').notNull(),
  neverExtractable: boolean('never_extractable').notNull(),
  sensitive: boolean('sensitive').notNull(),
  alwaysSensitive: boolean('always_sensitive').notNull(),
  activationDate: ts('activation_date'),
  protectStopDate: ts('protect_stop_date'),
  deactivationDate: ts('deactivation_date'),
  deletionDate: ts('deletion_date'),
  compromiseDate: ts('compromise_date'),
  destroyedAt: ts('destroyed_at'),
  /** When an operation last used the key, as of the last usage flush (seconds behind at most). */
  lastUsedAt: sortableTs('last_used_at'),
  createdAt: sortableTs('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('keys_state_id_idx').on(t.state, t.id),
  index('keys_spec_id_idx').on(t.spec, t.id),
  // jsonb_path_ops: a tag filter (@>) is one posting list, not the intersection of the tag name's (every key's) and the value's.
  index('keys_tags_path_idx').using('gin', t.tags.op('jsonb_path_ops')),
  // These two also INCLUDE (tags), added by migration 0010: drizzle's schema cannot say so.
  index('keys_provider_state_id_idx').on(t.provider, t.state, t.id),
  index('keys_connection_state_id_idx').on(t.connection, t.state, t.id),
  // The lifecycle sweep looks only at keys with a date still to act on; listings sort by it too.
  index('keys_next_rotation_at_id_idx').on(t.nextRotationAt, t.id),
  index('keys_deletion_date_idx').on(t.deletionDate),
  // Sorted listings walk these; ids break ties so that a cursor is exact.
  index('keys_created_at_id_idx').on(t.createdAt, t.id),
  index('keys_last_used_at_id_idx').on(t.lastUsedAt, t.id),
]);

export type KeyRow = typeof keys.$inferSelect;
export type NewKeyRow = typeof keys.$inferInsert;
