// The whole schema, for drizzle's relational queries and drizzle-kit.
export * from './keys.ts';
export * from './key_aliases.ts';
export * from './key_versions.ts';
export * from './key_bindings.ts';
export * from './binding_versions.ts';
export * from './key_events.ts';
export * from './idempotency_keys.ts';
export * from './local_key_material.ts';
export * from './audit_events.ts';
export * from './api_keys.ts';
export * from './policies.ts';
export * from './approvals.ts';
export * from './jobs.ts';
export * from './key_usage.ts';
export * from './envelope_repairs.ts';
