// Queries on the audit trail. Appending takes a transaction-scoped advisory lock so that gateway
// instances sharing one database extend one chain, one batch at a time.
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { auditEvents } from '../schema/index.ts';
import { chainHash, GENESIS, type AuditEvent } from '../../audit/chain.ts';

const AUDIT_LOCK = 7_343_202; // arbitrary, fixed: the advisory lock id of the audit chain's head

export type AuditRow = typeof auditEvents.$inferSelect;

/** Appends events in order after the chain's head, in one transaction; returns the new head. */
export async function appendAuditEvents(db: Db, events: AuditEvent[]): Promise<{ seq: number; hash: string }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`);
    const [head] = await tx.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
    let seq = head?.seq ?? 0;
    let hash = head?.hash ?? GENESIS;
    const rows = events.map((e) => {
      const prevHash = hash;
      seq += 1;
      hash = chainHash(prevHash, seq, e);
      return { ...e, seq, prevHash, hash };
    });
    await tx.insert(auditEvents).values(rows);
    return { seq, hash };
  });
}

/** One page of the chain in order, from after `afterSeq`. */
export async function auditPage(db: Db, afterSeq: number, limit: number): Promise<AuditRow[]> {
  return db.select().from(auditEvents).where(gt(auditEvents.seq, afterSeq)).orderBy(asc(auditEvents.seq)).limit(limit);
}

export interface AuditFilter { principal?: string; keyId?: string; action?: string; decision?: 'allow' | 'deny'; afterSeq?: number }

export async function queryAuditEvents(db: Db, f: AuditFilter, limit: number): Promise<AuditRow[]> {
  return db.select().from(auditEvents).where(and(
    f.principal ? eq(auditEvents.principal, f.principal) : undefined,
    f.keyId ? eq(auditEvents.keyId, f.keyId) : undefined,
    f.action ? eq(auditEvents.action, f.action) : undefined,
    f.decision ? eq(auditEvents.decision, f.decision) : undefined,
    f.afterSeq ? gt(auditEvents.seq, f.afterSeq) : undefined,
  )).orderBy(asc(auditEvents.seq)).limit(limit);
}
