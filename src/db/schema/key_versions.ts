// Versions of a key: rotation adds n+1; the newest protects, all still process.
import { foreignKey, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';

export const keyVersions = pgTable('key_versions', {
  keyId: text('key_id').notNull(),
  version: integer('version').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  foreignKey({ name: 'key_versions_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),primaryKey({ name: 'key_versions_pk', columns: [t.keyId, t.version] })]);
