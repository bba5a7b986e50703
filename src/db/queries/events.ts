// Queries on the key lifecycle history.
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { keyEvents } from '../schema/index.ts';
import { newId } from '../../ids.ts';

export type NewKeyEvent = Omit<typeof keyEvents.$inferInsert, 'id' | 'at'>;

export async function insertEvent(db: Db, event: NewKeyEvent): Promise<void> {
  await db.insert(keyEvents).values({ id: newId('evt'), ...event });
}

export async function listEvents(db: Db, keyId: string, after: string | undefined, limit: number) {
  return db.select().from(keyEvents)
    .where(and(eq(keyEvents.keyId, keyId), after ? gt(keyEvents.id, after) : undefined))
    .orderBy(asc(keyEvents.id)).limit(limit);
}
