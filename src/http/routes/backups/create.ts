// POST /v1/backups — a backup bundle of this gateway (docs/backup.md), streamed as it is made: the
// way to back up a running gateway on its embedded database, which no second process can open. The
// backup keys are checked before the first byte, so a refusal is a problem, not a cut stream; a
// failure later cuts the stream short, and a bundle cut short never restores (its trailer is last).
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { prepareBackup } from '../../../dr/backup.ts';
import { errorResponses, jsonBody } from '../../schemas.ts';

const KeyName = z.string().min(1).max(140);
const Body = z.object({
  encryptionKey: KeyName.openapi({ description: 'ENCRYPT_DECRYPT key (id or alias/NAME) whose bindings protect the bundle: one outside the local keystore and outside the connections whose material the bundle carries' }),
  signingKey: KeyName.openapi({ description: 'SIGN_VERIFY key that signs the bundle, its primary placed likewise' }),
}).strict();

const route = defineRoute({
  method: 'post', path: '/v1/backups', tags: ['backup'], operationId: 'createBackup', summary: 'Stream a backup bundle of the keys, policies and exportable material',
  request: { body: jsonBody(Body) },
  responses: {
    200: { description: 'The bundle (kmsgw-backup/2), as it is made', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses,
  },
}, 'gateway');

export function registerCreateBackup(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { database, connections, keys, logger } = c.get('services');
    const actor = c.get('actor');
    const backup = await prepareBackup(database.db, connections, keys, { ...body, principal: actor.identity.principal });
    actor.record.detail = { backup: backup.id, encryptionKey: body.encryptionKey, signingKey: body.signingKey };
    const out = new PassThrough();
    backup.write(async (chunk) => {
      if (out.destroyed) throw new Error('the client stopped reading the backup');
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
    }).then(() => out.end(), (err: unknown) => {
      logger.error({ err, backup: backup.id }, 'backup stream failed');
      out.destroy(err as Error);
    });
    c.header('Content-Type', 'application/octet-stream');
    c.header('Content-Disposition', `attachment; filename="${backup.id}.kmsgw"`);
    return c.body(Readable.toWeb(out) as ReadableStream, 200);
  });
}
