// Queries on the audit trail. A writer that knows the chain's head appends in one statement; one that
// does not takes a transaction-scoped advisory lock and reads the head, so that gateway instances
// and operator commands sharing one database extend one chain, one batch at a time.
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { auditEvents } from '../schema/index.ts';
import { chainHash, GENESIS, type AuditEvent } from '../../audit/chain.ts';

const AUDIT_LOCK = 7_343_202; // arbitrary, fixed: the advisory lock id of the audit chain's head

export type AuditRow = typeof auditEvents.$inferSelect;

export interface ChainHead { seq: number; hash: string }

/**
 * Appends events in order after the chain's head, in one transaction under the chain's lock;
 * returns the new head. The way for a writer that does not know the head.
 */
export async function appendAuditEvents(db: Db, events: AuditEvent[]): Promise<ChainHead> {
  return db.transaction(async (tx) => {
    await lockAuditChain(tx);
    return insertAuditEvents(tx, events, await auditHead(tx) ?? { seq: 0, hash: GENESIS });
  });
}

/** Takes the chain's lock until the transaction `tx` ends: no other writer can append meanwhile. */
export async function lockAuditChain(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`);
}

/**
 * Appends events after `head`, a head this writer knows, in one statement; returns the new head. A
 * stale head (another writer extended the chain since) fails the whole statement on the seq's
 * primary key (isUniqueViolation), so the chain can never fork. The statement holds the chain's
 * lock from before its first row until it commits, as appendAuditEvents does, so that a writer
 * holding the lock reads a head nobody else is extending.
 */
export async function insertAuditEvents(db: Db, events: AuditEvent[], head: ChainHead): Promise<ChainHead> {
  let { seq, hash } = head;
  const rows = events.map((e) => {
    const prevHash = hash;
    seq += 1;
    hash = chainHash(prevHash, seq, e);
    return { ...e, seq, prevHash, hash };
  });
  // The batch as one JSON parameter: any number of rows is one statement with one parameter (a
  // multi-row VALUES list cost about 0.2 ms per row to build and bind).
  await db.execute(sql`insert into audit_events (seq, id, at, request_id, principal, auth_method, action, route, key_id, key_version, connection,
      decision, reasons, status, outcome, break_glass, detail, prev_hash, hash)
    select seq, id, at, "requestId", principal, "authMethod", action, route, "keyId", "keyVersion", connection,
      decision, reasons, status, outcome, "breakGlass", detail, "prevHash", hash
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(seq bigint, id text, at timestamptz, "requestId" text, principal text,
      "authMethod" text, action text, route text, "keyId" text, "keyVersion" int, connection text, decision text, reasons jsonb,
      status int, outcome text, "breakGlass" boolean, detail jsonb, "prevHash" text, hash text)
    cross join (select pg_advisory_xact_lock(${AUDIT_LOCK})) as chain_lock`);
  return { seq, hash };
}

/** The chain's newest event's place and hash; none before the first event. */
export async function auditHead(db: Db): Promise<ChainHead | undefined> {
  const [head] = await db.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  return head;
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
