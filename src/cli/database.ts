// The database of the configured gateway, for operator commands that need nothing else (no
// providers, no HTTP): the same target `serve` opens.
import { loadConfig } from '../config.ts';
import { databaseTarget, openDatabase, type Database } from '../db/client.ts';

export async function withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(databaseTarget(loadConfig()), { maxConnections: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}
