// Envelopes sealed while some binding of their key could not wrap the DEK (its connection down, or
// behind on the version). The repair adds the missing wraps here, not in the caller's copy: decrypt
// reads them when every wrap the envelope carries fails. Wraps are provider ciphertexts bound to the
// header, never the DEK itself.
import { sql } from 'drizzle-orm';
import { foreignKey, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';
import { bytea } from './types.ts';

export const envelopeRepairs = pgTable('envelope_repairs', {
  messageId: bytea('message_id').primaryKey(),
  keyId: text('key_id').notNull(),
  keyVersion: integer('key_version').notNull(),
  /** The header bytes the wraps are bound to (their AAD is its digest). */
  header: bytea('header').notNull(),
  /** Base64 wraps by binding id: those the envelope carries, then those the repair added. */
  wraps: jsonb('wraps').$type<Record<string, string>>().notNull(),
  /** Bindings whose wrap is still missing. */
  missing: text('missing').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  repairedAt: timestamp('repaired_at', { withTimezone: true }),
}, (t) => [
  foreignKey({ name: 'envelope_repairs_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),
  index('envelope_repairs_pending_idx').on(t.keyId, t.messageId).where(sql`cardinality(missing) > 0`),
]);
