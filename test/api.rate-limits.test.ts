// Rate limits per principal and per key: over the limit is 429 with Retry-After and changes
// nothing; one principal's or one key's excess does not slow the others; refusals are audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
const as = (who: { secret: string }) => ({ authorization: `Bearer ${who.secret}` });

beforeAll(async () => {
  gw = await startGateway({ config: { rateLimits: { perPrincipal: { requests: 5, perSeconds: 60 }, perKey: { requests: 3, perSeconds: 60 } } } });
});
afterAll(async () => { await gw.close(); });

describe('rate limits', () => {
  it('a principal over its limit gets 429 with Retry-After; another principal is not held back', async () => {
    const greedy = await gw.apiKey(['read-only']);
    const calm = await gw.apiKey(['read-only']);
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await gw.call('GET', '/v1/keys', undefined, as(greedy))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const refused = await gw.call('GET', '/v1/keys', undefined, as(greedy));
    expect(refused.body).toMatchObject({ code: 'RESOURCE_EXHAUSTED', status: 429 });
    expect(refused.body.detail).toMatch(/over its limit of 5 requests per 60 s/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(12);
    expect((await gw.call('GET', '/v1/keys', undefined, as(calm))).status).toBe(200);
  });

  it('a key over its limit gets 429, changes nothing, and other keys go on', async () => {
    const user = await gw.apiKey(['crypto-user'], ['app']);
    const tags = { 'kmsgw:users': 'app' };
    const admin = await gw.apiKey(['administrator']);
    const hot = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags }, as(admin))).body.id;
    const cold = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags }, as(admin))).body.id;
    const encrypt = (key: string) => gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('x') }, as(user));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await encrypt(hot)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await encrypt(cold)).status).toBe(200);
    const auditor = await gw.apiKey(['auditor']);
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${hot}&action=encrypt`, undefined, as(auditor))).body.events;
    expect(events.at(-1)).toMatchObject({ status: 429, outcome: 'RESOURCE_EXHAUSTED', reasons: ['rate-limited-key'] });
  });
});
