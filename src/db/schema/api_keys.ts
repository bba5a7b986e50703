// API keys: only the SHA-256 of each secret is kept (the secret has 256 random bits, so a fast hash
// is enough and lets a request find its key by one indexed lookup). `hint` shows the secret's first
// characters so that people can tell their keys apart; revoked keys stay for the audit trail.
import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull().unique('api_keys_secret_hash_key'),
  hint: text('hint').notNull(),
  roles: jsonb('roles').$type<string[]>().notNull(),
  groups: jsonb('groups').$type<string[]>().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
}, (t) => [index('api_keys_created_at_idx').on(t.createdAt)]);
