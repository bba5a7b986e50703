// The first administrator key: made once on an empty database, even by instances starting together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdminKey } from '../src/auth/api-keys.ts';
import { listApiKeys } from '../src/db/queries/api-keys.ts';
import { openDatabase, type Database } from '../src/db/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let others: Database[];

beforeAll(async () => {
  gw = await startGateway();
  // An empty key table, as on a first start (the test gateway made its own principal).
  await gw.database.db.execute('delete from api_keys' as never);
  others = await Promise.all([1, 2, 3].map(() => openDatabase({ url: gw.databaseUrl! }, { maxConnections: 2 })));
});
afterAll(async () => {
  for (const d of others) await d.close();
  await gw.close();
});

describe('bootstrap', () => {
  it('several instances starting together on an empty database make exactly one administrator key', async () => {
    const secrets = await Promise.all([gw.database, ...others].map((d) => bootstrapAdminKey(d.db)));
    expect(secrets.filter(Boolean)).toHaveLength(1);
    const keys = await listApiKeys(gw.database.db);
    expect(keys.map((k) => k.roles)).toEqual([['administrator']]);
    expect(await bootstrapAdminKey(gw.database.db)).toBeUndefined();
  });
});
