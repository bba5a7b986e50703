// The database of the configured gateway, for operator commands that need nothing else (no
// providers, no HTTP): the same target `serve` opens.
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';

export async function withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pglite: join(config.dataDir, 'pglite') }, { maxConnections: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}
