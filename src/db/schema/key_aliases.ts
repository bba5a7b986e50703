// Aliases: unique friendly names that point at one key each.
import { foreignKey, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';

export const keyAliases = pgTable('key_aliases', {
  name: text('name').primaryKey(),
  keyId: text('key_id').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  foreignKey({ name: 'key_aliases_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),index('key_aliases_key_id_idx').on(t.keyId)]);
