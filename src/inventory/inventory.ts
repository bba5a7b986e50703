// The inventory's operations beyond listing keys: discovery jobs per connection and the drift
// they find.
import { and, desc, inArray, lt } from 'drizzle-orm';
import { needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { activeJob, getJob, insertJob } from '../db/queries/jobs.ts';
import { keyEvents, type JobRow } from '../db/schema/index.ts';
import type { Connections } from '../routing/connection.ts';
import { DISCOVERY, type Discovery } from './discovery.ts';

export class Inventory {
  constructor(private readonly db: Db, private readonly connections: Connections, readonly discovery: Discovery) {}

  /** Queues a discovery of the connection, or answers the one already queued or running. */
  async discover(connection: string, by: string): Promise<JobRow> {
    needs(this.connections.find(connection), 'NOT_FOUND', `connection "${connection}" is not configured`);
    needs(this.discovery.supports(connection), 'FAILED_PRECONDITION', `connection "${connection}" (${this.connections.get(connection).provider.kind}) cannot list its keys: every key on it is one the gateway made`);
    const running = await activeJob(this.db, DISCOVERY, connection);
    if (running) return running;
    const id = newId('job');
    try {
      await insertJob(this.db, { id, kind: DISCOVERY, target: connection, createdBy: by });
    } catch (err) {
      // Another request queued one in the meantime: join it.
      if (isUniqueViolation(err)) return (await activeJob(this.db, DISCOVERY, connection))!;
      throw err;
    }
    return (await getJob(this.db, id))!;
  }

  /** Drift records, newest first. */
  async drift(before: string | undefined, limit: number) {
    return this.db.select().from(keyEvents)
      .where(and(inArray(keyEvents.type, ['DRIFT', 'DRIFT_RESOLVED']), before ? lt(keyEvents.id, before) : undefined))
      .orderBy(desc(keyEvents.id)).limit(limit);
  }
}
