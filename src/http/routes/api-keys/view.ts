// The wire view of an API key: everything but the secret's hash.
import { z } from '@hono/zod-openapi';
import type { ApiKeyRow } from '../../../db/queries/api-keys.ts';

const Timestamp = z.string().datetime().nullable();

export const ApiKeyView = z.object({
  id: z.string(), name: z.string(), hint: z.string().openapi({ description: 'The secret\'s first characters' }),
  roles: z.array(z.string()), groups: z.array(z.string()), createdBy: z.string(), createdAt: z.string().datetime(),
  expiresAt: Timestamp, lastUsedAt: Timestamp, revokedAt: Timestamp,
}).openapi('ApiKey');

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function apiKeyView(r: ApiKeyRow): z.infer<typeof ApiKeyView> {
  return {
    id: r.id, name: r.name, hint: r.hint, roles: r.roles, groups: r.groups, createdBy: r.createdBy, createdAt: r.createdAt.toISOString(),
    expiresAt: iso(r.expiresAt), lastUsedAt: iso(r.lastUsedAt), revokedAt: iso(r.revokedAt),
  };
}
