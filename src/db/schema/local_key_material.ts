// The local provider's sealed key material, one row per key version.
import { integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { bytea } from './types.ts';

export const localKeyMaterial = pgTable('local_key_material', {
  ref: text('ref').notNull(),
  version: integer('version').notNull(),
  sealed: bytea('sealed').notNull(),
  rootVersion: integer('root_version').notNull(),
  /** The id of the sync job's creation that made the version, so that its retry finds it (CreationFinder). */
  operation: text('operation'),
}, (t) => [
  primaryKey({ name: 'local_key_material_pk', columns: [t.ref, t.version] }),
  uniqueIndex('local_key_material_operation_uq').on(t.operation),
]);
