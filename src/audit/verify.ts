// Proves the audit chain from its first event: every seq present and in order, every event's
// prev_hash equal to its predecessor's hash, every hash recomputed from the row. The first event
// that fails is named, with what failed; a change anywhere shows there and nowhere earlier.
import type { Db } from '../db/client.ts';
import { auditPage } from '../db/queries/audit.ts';
import { chainHash, GENESIS } from './chain.ts';

export type ChainReport =
  | { valid: true; events: number; head: string }
  | { valid: false; events: number; brokenAt: { seq: number; id?: string; problem: string } };

export async function verifyAuditChain(db: Db, onProgress?: (checked: number) => void): Promise<ChainReport> {
  let seq = 0;
  let hash = GENESIS;
  for (;;) {
    const page = await auditPage(db, seq, 5_000);
    for (const row of page) {
      const broken = (problem: string, at = row.seq, id: string | undefined = row.id): ChainReport => ({ valid: false, events: seq, brokenAt: { seq: at, id, problem } });
      if (row.seq !== seq + 1) return broken(row.seq > seq + 1 ? `event ${seq + 1} is missing (the next present is ${row.seq})` : 'sequence out of order', seq + 1, undefined);
      if (row.prevHash !== hash) return broken('prev_hash does not match the previous event\'s hash');
      const { seq: s, prevHash, hash: stored, ...event } = row;
      if (chainHash(prevHash, s, event) !== stored) return broken('the event does not match its hash: it was changed after it was written');
      seq = row.seq;
      hash = stored;
    }
    onProgress?.(seq);
    if (page.length < 5_000) return { valid: true, events: seq, head: hash };
  }
}
