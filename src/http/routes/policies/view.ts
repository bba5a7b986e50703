// The wire view of an access policy, shipped or stored.
import { z } from '@hono/zod-openapi';
import type { PolicyRow } from '../../../db/queries/policies.ts';

export const PolicyView = z.object({
  id: z.string(),
  version: z.number().int().openapi({ description: '0 for shipped policies' }),
  kind: z.enum(['shipped', 'policy', 'grant']),
  description: z.string(),
  text: z.string(),
  removed: z.boolean(),
  expiresAt: z.string().datetime().nullable(),
  createdBy: z.string(),
  createdAt: z.string().datetime().nullable(),
}).openapi('Policy');

export const policyView = (r: PolicyRow): z.infer<typeof PolicyView> => ({
  id: r.id, version: r.version, kind: r.kind, description: r.description, text: r.text, removed: r.removed,
  expiresAt: r.expiresAt?.toISOString() ?? null, createdBy: r.createdBy, createdAt: r.createdAt.toISOString(),
});
