// Idempotency-Key records: a retried creating request answers with what the first one made
// instead of creating again. The record is completed in the transaction that creates the
// resource, so the two can never disagree.
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const idempotencyKeys = pgTable('idempotency_keys', {
  key: text('key').primaryKey(),
  requestHash: text('request_hash').notNull(),
  status: integer('status'),
  /** The resource the first request made (a key id), read again to answer a retry. */
  resourceId: text('resource_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
