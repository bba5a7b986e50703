// The wire view of an access policy, shipped or stored.
import { z } from '@hono/zod-openapi';
import type { PolicyRow } from '../../../db/queries/policies.ts';
import { Timestamp } from '../../schemas.ts';
import { iso } from '../../views.ts';

export const PolicyView = z.object({
  id: z.string(),
  version: z.number().int().openapi({ description: '0 for shipped policies' }),
  kind: z.enum(['shipped', 'policy', 'grant']),
  description: z.string(),
  text: z.string(),
  removed: z.boolean(),
  expiresAt: Timestamp,
  createdBy: z.string(),
  createdAt: Timestamp,
}).openapi('Policy');

export const policyView = (r: PolicyRow): z.infer<typeof PolicyView> => ({
  id: r.id, version: r.version, kind: r.kind, description: r.description, text: r.text, removed: r.removed,
  expiresAt: iso(r.expiresAt), createdBy: r.createdBy, createdAt: r.createdAt.toISOString(),
});
