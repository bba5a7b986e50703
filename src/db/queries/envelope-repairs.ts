// Queries on envelopes awaiting their missing wraps: recorded by encrypt, read by decrypt's last
// resort, worked by the sync job.
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { envelopeRepairs } from '../schema/index.ts';
import type { Wrap } from '../../crypto/envelope.ts';
import type { RepairLedger } from '../../keys/crypto.ts';

export type EnvelopeRepairRow = typeof envelopeRepairs.$inferSelect;

const awaiting = sql`cardinality(${envelopeRepairs.missing}) > 0`;

/** A record's wraps (base64 by binding id) as the crypto service takes them, and back. */
export const wrapsOf = (row: Pick<EnvelopeRepairRow, 'wraps'>): Wrap[] =>
  Object.entries(row.wraps).map(([bindingId, wrapped]) => ({ bindingId, wrapped: Buffer.from(wrapped, 'base64') }));
export const wrapsRecord = (wraps: Wrap[]): Record<string, string> =>
  Object.fromEntries(wraps.map((w) => [w.bindingId, Buffer.from(w.wrapped).toString('base64')]));

export async function insertEnvelopeRepair(db: Db, row: Pick<EnvelopeRepairRow, 'messageId' | 'keyId' | 'keyVersion' | 'header' | 'wraps' | 'missing'>): Promise<void> {
  await db.insert(envelopeRepairs).values(row);
}

export async function getEnvelopeRepair(db: Db, messageId: Uint8Array): Promise<EnvelopeRepairRow | undefined> {
  const [row] = await db.select().from(envelopeRepairs).where(eq(envelopeRepairs.messageId, Buffer.from(messageId)));
  return row;
}

/** A key's envelopes still missing a wrap, in message id order after `after`. */
export async function pendingRepairs(db: Db, keyId: string, after: Uint8Array | undefined, limit: number): Promise<EnvelopeRepairRow[]> {
  return db.select().from(envelopeRepairs)
    .where(and(eq(envelopeRepairs.keyId, keyId), awaiting, after ? gt(envelopeRepairs.messageId, Buffer.from(after)) : undefined))
    .orderBy(asc(envelopeRepairs.messageId)).limit(limit);
}

/** Adds the wraps the repair made to an envelope's record and settles it: nothing is missing any more. */
export async function addRepairWraps(db: Db, messageId: Uint8Array, added: Record<string, string>): Promise<void> {
  await db.update(envelopeRepairs).set({ wraps: sql`${envelopeRepairs.wraps} || ${JSON.stringify(added)}::jsonb`, missing: [], repairedAt: new Date() }).where(eq(envelopeRepairs.messageId, Buffer.from(messageId)));
}

/** Whether envelopes of the key await a wrap, as a condition for queries. */
export const keyHasRepairs = (keyId: string) => sql`exists (select 1 from ${envelopeRepairs} where ${envelopeRepairs.keyId} = ${keyId} and ${awaiting})`;

/** Keys with envelopes awaiting a wrap, for the scheduled sync. */
export async function keysAwaitingRepair(db: Db, limit: number): Promise<string[]> {
  const rows = await db.selectDistinct({ keyId: envelopeRepairs.keyId }).from(envelopeRepairs).where(awaiting).limit(limit);
  return rows.map((r) => r.keyId);
}

export async function countAwaitingRepair(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(envelopeRepairs).where(awaiting);
  return row?.n ?? 0;
}

/** The crypto service's port onto the records: what encrypt leaves missing, what the repair added since. */
export function repairLedger(db: Db): RepairLedger {
  return {
    async record({ headerBytes, messageId, keyId, keyVersion, wraps, missing }) {
      await insertEnvelopeRepair(db, { messageId, keyId, keyVersion, header: headerBytes, missing, wraps: wrapsRecord(wraps) });
    },
    async added(messageId, carried) {
      const row = await getEnvelopeRepair(db, messageId);
      return row ? wrapsOf(row).filter((w) => !carried.includes(w.bindingId)) : [];
    },
  };
}
