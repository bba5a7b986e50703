// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for creating requests. The key is
// claimed before the work and completed inside the work's own transaction, with the id of what it
// made; a retry answers with that resource as it is now. So a retried create never creates twice,
// even if the gateway died between the commit and the reply.
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { KmsError, needs } from '../errors.ts';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../db/queries/idempotency.ts';
import type { InTransaction } from '../keys/model.ts';
import type { AppEnv } from './app.ts';

/** Longer than any request can live (provider deadlines included): an older unfinished claim is abandoned. */
const ABANDONED_AFTER_MS = 5 * 60_000;

export interface Idempotent<T> {
  /** Names the operation, so one key cannot be replayed across operations. */
  scope: string;
  status: 200 | 201;
  /** What the request asked, to refuse the key's reuse with a different request. */
  request: unknown;
  /** Does the work, calling `complete` inside its transaction when the client sent a key. */
  run: (complete?: InTransaction) => Promise<T>;
  /** The answer to a retry: the resource the first request made, as it is now. */
  replay: (resourceId: string) => Promise<T>;
}

export async function idempotent<T>(c: Context<AppEnv>, op: Idempotent<T>): Promise<Response> {
  const header = c.req.header('Idempotency-Key');
  if (header === undefined) return c.json(await op.run(), op.status);
  needs(/^[\x21-\x7e]{1,255}$/.test(header), 'INVALID_ARGUMENT', 'Idempotency-Key must be 1-255 visible ASCII characters', { field: 'Idempotency-Key' });
  const { database } = c.get('services');
  const key = `${c.get('actor').identity.principal}\n${op.scope}\n${header}`;
  const hash = createHash('sha256').update(JSON.stringify(op.request)).digest('base64');
  const existing = await claimIdempotencyKey(database.db, key, hash, new Date(Date.now() - ABANDONED_AFTER_MS));
  if (existing) {
    needs(existing.requestHash === hash, 'INVALID_ARGUMENT', 'Idempotency-Key was already used with a different request', { field: 'Idempotency-Key', status: 422 });
    if (existing.status === null) throw new KmsError('FAILED_PRECONDITION', 'a request with this Idempotency-Key is still in progress', { retryAfter: 1 });
    c.header('Idempotent-Replayed', 'true');
    return c.json(await op.replay(existing.resourceId!), existing.status as 200 | 201);
  }
  try {
    return c.json(await op.run((tx, resourceId) => completeIdempotencyKey(tx, key, op.status, resourceId)), op.status);
  } catch (err) {
    // Only an unfinished claim is released: if the work committed, retries must replay it.
    await releaseIdempotencyKey(database.db, key);
    throw err;
  }
}
