// The audit writer, with group commit: an event waits only for the batch being written now; every
// event that arrives meanwhile goes into the next batch, one statement and one fsync for all of
// them. `append` resolves only once its event is committed, so a reply never leaves before its
// audit record.
//
// The writer remembers the chain's head it wrote last, so a batch is one INSERT after it. When
// another writer has extended the chain since (a second gateway instance, an operator command),
// that INSERT fails on the seq's key, and the batch is written the slow way: under the chain's lock,
// after the head read from the database. Knowing the head also shows a tail cut from the chain: the
// next event still names the cut event's hash, so verification stops at the gap.
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { appendAuditEvents, insertAuditEvents, type ChainHead } from '../db/queries/audit.ts';
import type { AuditEvent } from './chain.ts';

interface Pending { event: AuditEvent; resolve(): void; reject(err: unknown): void }

export interface AuditLogOptions {
  /** The most events in one batch; 1 writes each event on its own (the bench's baseline). */
  maxBatch: number;
}

export class AuditLog {
  private queue: Pending[] = [];
  private writing = false;
  /** The head this writer last wrote or read; unknown at first and after a write whose outcome is unknown. */
  private head: ChainHead | undefined;

  constructor(private readonly db: Db, private readonly options: AuditLogOptions = { maxBatch: 1000 }) {}

  append(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      // The first batch starts once the events of every request read in this turn of the event
      // loop are queued: PGlite runs a statement without yielding to I/O, so a batch started at
      // once would hold one event and leave the others to a statement each.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        await this.write(batch.map((p) => p.event));
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.writing = false;
  }

  private async write(events: AuditEvent[]): Promise<void> {
    const known = this.head;
    this.head = undefined;
    if (known) {
      try {
        this.head = await insertAuditEvents(this.db, events, known);
        return;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    this.head = await appendAuditEvents(this.db, events);
  }
}
