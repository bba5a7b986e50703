// The lifecycle sweep: moves keys on by their dates (activation, deactivation, end of the deletion
// window), rotates keys whose rotation period has run out and forgets idempotency records past
// their day. Safe with many instances: every transition is a guarded update and every scheduled
// rotation is claimed first.
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { claimRotation, keysDueForSweep } from '../db/queries/keys.ts';
import { pruneIdempotencyKeys } from '../db/queries/idempotency.ts';
import { systemActor } from '../keys/model.ts';
import { effectiveState } from '../keys/lifecycle.ts';
import type { KeyService } from '../keys/service.ts';
import { every } from './every.ts';

const RETRY_MS = 5 * 60_000;
/** How long a retried request still replays its first response (Stripe keeps 24 hours too). */
const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

export async function sweepOnce(db: Db, keys: KeyService, logger: Logger, now = new Date()): Promise<number> {
  const due = await keysDueForSweep(db, now, 500);
  for (const key of due) {
    try {
      if (effectiveState(key, now) !== key.state) {
        await keys.settle(key.id, now);
      } else if (key.nextRotationAt && key.nextRotationAt <= now && await claimRotation(db, key.id, key.nextRotationAt, new Date(now.getTime() + RETRY_MS))) {
        await keys.rotate(systemActor('rotation'), key.id, { reason: 'SCHEDULED_ROTATION' });
      }
    } catch (err) {
      logger.warn({ err, keyId: key.id }, 'lifecycle sweep could not move key on; will retry');
    }
  }
  await pruneIdempotencyKeys(db, new Date(now.getTime() - IDEMPOTENCY_TTL_MS));
  return due.length;
}

export function startLifecycleSweep(db: Db, keys: KeyService, logger: Logger, intervalMs: number): () => void {
  return every(intervalMs, () => sweepOnce(db, keys, logger), (err) => logger.error({ err }, 'lifecycle sweep failed'));
}
