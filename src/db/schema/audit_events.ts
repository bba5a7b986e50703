// The audit trail: one row per request, allowed or denied, in a hash chain. `seq` is dense and
// assigned under a lock by the one writer (src/audit/log.ts), and each row's `hash` covers the row
// and the previous row's hash, so a changed, removed or inserted row breaks the chain exactly there.
// A trigger (migration 0004) refuses UPDATE, DELETE and TRUNCATE: rows are only ever appended.
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const auditEvents = pgTable('audit_events', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull().unique('audit_events_id_key'),
  at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
  requestId: text('request_id').notNull(),
  principal: text('principal').notNull(),
  authMethod: text('auth_method').notNull(),
  action: text('action'),
  route: text('route').notNull(),
  keyId: text('key_id'),
  keyVersion: integer('key_version'),
  connection: text('connection'),
  decision: text('decision').$type<'allow' | 'deny'>().notNull(),
  reasons: jsonb('reasons').$type<string[]>().notNull(),
  status: integer('status').notNull(),
  outcome: text('outcome').notNull(),
  breakGlass: boolean('break_glass').notNull(),
  detail: jsonb('detail').$type<Record<string, string>>().notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
}, (t) => [
  index('audit_events_principal_idx').on(t.principal, t.seq),
  index('audit_events_key_id_idx').on(t.keyId, t.seq),
]);
