// A key's lifecycle history: creation, every transition with its reason, rotations and changes.
// Written in the transaction of the change it records.
import type { KeyState } from '../../keys/lifecycle.ts';
import { foreignKey, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';

export const keyEvents = pgTable('key_events', {
  id: text('id').primaryKey(),
  keyId: text('key_id').notNull(),
  type: text('type').notNull(),
  fromState: text('from_state').$type<KeyState>(),
  toState: text('to_state').$type<KeyState>(),
  reason: text('reason'),
  actor: text('actor').notNull(),
  requestId: text('request_id'),
  detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  foreignKey({ name: 'key_events_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),
  index('key_events_key_id_idx').on(t.keyId, t.id)]);
