// The wire view of an API key: everything but the secret's hash.
import { z } from '@hono/zod-openapi';
import type { ApiKeyRow } from '../../../db/queries/api-keys.ts';
import { Timestamp } from '../../schemas.ts';
import { iso } from '../../views.ts';

export const ApiKeyView = z.object({
  id: z.string(), name: z.string(), hint: z.string().openapi({ description: 'The secret\'s first characters' }),
  roles: z.array(z.string()), groups: z.array(z.string()), createdBy: z.string(), createdAt: z.string().datetime(),
  expiresAt: Timestamp, lastUsedAt: Timestamp, revokedAt: Timestamp,
}).openapi('ApiKey');

export function apiKeyView(r: ApiKeyRow): z.infer<typeof ApiKeyView> {
  return {
    id: r.id, name: r.name, hint: r.hint, roles: r.roles, groups: r.groups, createdBy: r.createdBy, createdAt: r.createdAt.toISOString(),
    expiresAt: iso(r.expiresAt), lastUsedAt: iso(r.lastUsedAt), revokedAt: iso(r.revokedAt),
  };
}
