// GET /v1/connections: every configured connection, which one is the default, what each can do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway({ config: { connections: [{ name: 'main', provider: 'local' }, { name: 'second', provider: 'local' }], defaultConnection: 'second' } }); });
afterAll(async () => { await gw.close(); });

describe('connections', () => {
  it('lists every connection with its provider, default flag, capabilities and a closed circuit', async () => {
    const res = await gw.call('GET', '/v1/connections');
    expect(res.status).toBe(200);
    expect(res.body.connections.map((c: { name: string; default: boolean; circuit: string; provider: string }) => [c.name, c.provider, c.default, c.circuit]))
      .toEqual([['main', 'local', false, 'closed'], ['second', 'local', true, 'closed']]);
    expect(res.body.connections[0].capabilities).toMatchObject({ rotation: 'versions', deletion: 'gateway', signing: 'any', specs: expect.arrayContaining(['AES_256', 'ED25519']) });
  });
});
