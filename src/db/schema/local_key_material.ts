// The local provider's sealed key material, one row per key version.
import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { bytea } from './types.ts';

export const localKeyMaterial = pgTable('local_key_material', {
  ref: text('ref').notNull(),
  version: integer('version').notNull(),
  sealed: bytea('sealed').notNull(),
  rootVersion: integer('root_version').notNull(),
}, (t) => [primaryKey({ name: 'local_key_material_pk', columns: [t.ref, t.version] })]);
