// Usage statistics: per key and operation (how often, when last), and per connection and operation
// by the hour (the dashboard's operations over time). Written in batches off the hot path.
import { bigint, foreignKey, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const keyUsage = pgTable('key_usage', {
  keyId: text('key_id').notNull(),
  operation: text('operation').notNull(),
  count: bigint('count', { mode: 'number' }).notNull(),
  lastUsedAt: ts('last_used_at').notNull(),
}, (t) => [
  primaryKey({ name: 'key_usage_pk', columns: [t.keyId, t.operation] }),
  foreignKey({ name: 'key_usage_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),
]);

export const usageHourly = pgTable('usage_hourly', {
  hour: ts('hour').notNull(),
  connection: text('connection').notNull(),
  operation: text('operation').notNull(),
  count: bigint('count', { mode: 'number' }).notNull(),
}, (t) => [
  primaryKey({ name: 'usage_hourly_pk', columns: [t.hour, t.connection, t.operation] }),
]);

export type KeyUsageRow = typeof keyUsage.$inferSelect;
