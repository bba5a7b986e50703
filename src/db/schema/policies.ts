// Access policies managed through the API, every version kept: a change inserts version n+1 and a
// removal inserts a version with `removed`; the policy set in force is each id's newest version that
// is not removed. Just-in-time grants are policies too (kind `grant`), whose Cedar condition ends
// them at `expires_at` without anyone acting.
import { boolean, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const policies = pgTable('policies', {
  id: text('id').notNull(),
  version: integer('version').notNull(),
  kind: text('kind').$type<'policy' | 'grant'>().notNull(),
  description: text('description').notNull(),
  text: text('text').notNull(),
  removed: boolean('removed').notNull().default(false),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ name: 'policies_pkey', columns: [t.id, t.version] })]);
