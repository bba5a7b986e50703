// The audit writer, with group commit: an event waits only for the batch being written now; every
// event that arrives meanwhile goes into the next batch, one transaction and one fsync for all of
// them. Alone, an event is written at once; under load, batches grow with the load. `append`
// resolves only once its event is committed, so a reply never leaves before its audit record.
import type { Db } from '../db/client.ts';
import { appendAuditEvents } from '../db/queries/audit.ts';
import type { AuditEvent } from './chain.ts';

interface Pending { event: AuditEvent; resolve(): void; reject(err: unknown): void }

export interface AuditLogOptions {
  /** The most events in one transaction; 1 writes each event on its own (the bench's baseline). */
  maxBatch: number;
}

export class AuditLog {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly db: Db, private readonly options: AuditLogOptions = { maxBatch: 1000 }) {}

  append(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        await appendAuditEvents(this.db, batch.map((p) => p.event));
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.writing = false;
  }
}
