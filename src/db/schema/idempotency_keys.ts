// Idempotency-Key records: a retried creating request replays the first response instead of
// creating again.
import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const idempotencyKeys = pgTable('idempotency_keys', {
  key: text('key').primaryKey(),
  requestHash: text('request_hash').notNull(),
  status: integer('status'),
  body: jsonb('body'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
