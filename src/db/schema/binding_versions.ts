// Each binding maps gateway versions to the provider's own version references.
import { foreignKey, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { keyBindings } from './key_bindings.ts';

export const bindingVersions = pgTable('binding_versions', {
  bindingId: text('binding_id').notNull(),
  version: integer('version').notNull(),
  versionRef: text('version_ref').notNull(),
}, (t) => [
  foreignKey({ name: 'binding_versions_binding_id_fk', columns: [t.bindingId], foreignColumns: [keyBindings.id] }),
  primaryKey({ name: 'binding_versions_pk', columns: [t.bindingId, t.version] }),
  // Discovery matches backend keys to gateway versions by reference.
  index('binding_versions_version_ref_idx').on(t.versionRef),
]);
