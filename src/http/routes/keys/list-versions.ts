// GET /v1/keys/{key}/versions — the key's versions.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json, KeyRefParam } from '../../schemas.ts';

const Versions = z.object({
  keyId: z.string(),
  currentVersion: z.number().int(),
  versions: z.array(z.object({ version: z.number().int(), current: z.boolean(), createdAt: z.string().datetime() })),
});

const route = defineRoute({
  method: 'get', path: '/v1/keys/{key}/versions', tags: ['keys'], operationId: 'listVersions', summary: 'List versions',
  request: { params: KeyRefParam },
  responses: { 200: json(Versions, 'Versions, oldest first'), ...errorResponses },
});

export function registerListVersions(app: App) {
  app.openapi(route, async (c) => {
    const { key, versions } = await c.get('services').keys.versions(c.get('actor'), c.req.valid('param').key);
    return c.json({
      keyId: key.id,
      currentVersion: key.currentVersion,
      versions: versions.map((v) => ({ version: v.version, current: v.version === key.currentVersion, createdAt: v.createdAt.toISOString() })),
    }, 200);
  });
}
