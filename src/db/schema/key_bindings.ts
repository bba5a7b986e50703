// Where a key lives: one primary and any number of replicas, each on a connection with the
// provider's native reference.
import { boolean, foreignKey, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { keys } from './keys.ts';

/** How far a backend key is along the gateway's lifecycle: in use, waiting out a deletion window, or destroyed. */
export type BackendPhase = 'LIVE' | 'PENDING_DELETION' | 'DESTROYED';

export const keyBindings = pgTable('key_bindings', {
  id: text('id').primaryKey(),
  keyId: text('key_id').notNull(),
  connection: text('connection').notNull(),
  provider: text('provider').notNull(),
  /**
   * The backend key's reference; null while a replica added to an existing key waits for the sync
   * job to make its backend key. A binding holds versions only once it has one.
   */
  ref: text('ref'),
  role: text('role').$type<'primary' | 'replica'>().notNull(),
  /**
   * A replica holding the key's own material, imported version by version from the primary (keys
   * made outside the clouds), rather than an independent key: it can sign, MAC and unwrap for the key.
   */
  sameMaterial: boolean('same_material').notNull().default(false),
  /**
   * The key's lifecycle as its backend key has it, as last applied by the sync job: LIVE, or
   * PENDING_DELETION, or DESTROYED. The key's state moves first; the backend follows (src/replicas/backend-state.ts).
   */
  appliedState: text('applied_state').$type<BackendPhase>().notNull().default('LIVE'),
  /** The gateway tags last written to the backend key (none yet when null), for backends that keep tags. */
  appliedTags: jsonb('applied_tags').$type<Record<string, string>>(),
  /** When discovery last saw the backend key; a complete pass that misses it finds it gone. */
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
  /** The backend's own tags when discovery first saw the key: the baseline tag drift is measured against. */
  backendTags: jsonb('backend_tags').$type<Record<string, string>>(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  foreignKey({ name: 'key_bindings_key_id_fk', columns: [t.keyId], foreignColumns: [keys.id] }),
  index('key_bindings_key_id_idx').on(t.keyId),
  uniqueIndex('key_bindings_connection_ref_uq').on(t.connection, t.ref),
  // A key lives once per connection; concurrent requests to add the same replica meet here.
  uniqueIndex('key_bindings_key_connection_uq').on(t.keyId, t.connection),
]);

export type KeyBindingRow = typeof keyBindings.$inferSelect;
