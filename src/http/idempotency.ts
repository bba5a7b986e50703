// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for creating requests: the first
// request's response is stored and replayed to retries, so a retried create never creates twice.
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { KmsError, needs } from '../errors.ts';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../db/queries/idempotency.ts';
import type { AppEnv } from './app.ts';

export async function idempotent<T>(c: Context<AppEnv>, scope: string, request: unknown, run: () => Promise<{ status: 200 | 201; body: T }>): Promise<Response> {
  const header = c.req.header('Idempotency-Key');
  if (header === undefined) {
    const { status, body } = await run();
    return c.json(body, status);
  }
  needs(/^[\x21-\x7e]{1,255}$/.test(header), 'INVALID_ARGUMENT', 'Idempotency-Key must be 1-255 visible ASCII characters', { field: 'Idempotency-Key' });
  const { database } = c.get('services');
  const key = `${c.get('actor').principal}\n${scope}\n${header}`;
  const hash = createHash('sha256').update(JSON.stringify(request)).digest('base64');
  const existing = await claimIdempotencyKey(database.db, key, hash);
  if (existing) {
    needs(existing.requestHash === hash, 'INVALID_ARGUMENT', 'Idempotency-Key was already used with a different request', { field: 'Idempotency-Key', status: 422 });
    if (existing.status === null) throw new KmsError('FAILED_PRECONDITION', 'a request with this Idempotency-Key is still in progress', { retryAfter: 1 });
    c.header('Idempotent-Replayed', 'true');
    return c.json(existing.body as T, existing.status as 200 | 201);
  }
  try {
    const { status, body } = await run();
    await completeIdempotencyKey(database.db, key, status, body);
    return c.json(body, status);
  } catch (err) {
    await releaseIdempotencyKey(database.db, key);
    throw err;
  }
}
