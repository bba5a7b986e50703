// Two-person integrity end to end, with the shipped template policies/approvals/two-person-deletion
// in force: a deletion needs two approvals from distinct principals other than the requester; an
// approval is claimed by exactly one successful request of the requester's for that operation and
// key, and is given back when that request fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let requester: { principal: string; secret: string };
let first: { principal: string; secret: string };
let second: { principal: string; secret: string };
const as = (who: { secret: string }, approval?: string) => ({ authorization: `Bearer ${who.secret}`, ...(approval && { 'kmsgw-approval': approval }) });
const template = (name: string) => readFileSync(join(import.meta.dirname, '..', 'policies', 'approvals', `${name}.cedar`), 'utf8');

beforeAll(async () => {
  gw = await startGateway();
  [requester, first, second] = await Promise.all([gw.apiKey(['administrator']), gw.apiKey(['administrator']), gw.apiKey(['administrator'])]);
  // Put in force the way an operator does: through the policy API.
  expect((await gw.call('PUT', '/v1/policies/two-person-deletion', { text: template('two-person-deletion'), description: 'two-person deletion' })).status).toBe(200);
});
afterAll(async () => { await gw.close(); });

const newKey = async () => (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' }, as(requester))).body.id as string;
const schedule = (key: string, approval?: string) => gw.call('POST', `/v1/keys/${key}/schedule-deletion`, { pendingDays: 7 }, as(requester, approval));
const ask = async (key: string) => {
  const res = await gw.call('POST', '/v1/approvals', { operation: 'scheduleKeyDeletion', key, reason: 'retire the 2024 payments key' }, as(requester));
  expect(res.status).toBe(201);
  return res.body;
};
const vote = (id: string, who: { secret: string }, decision: 'approve' | 'deny' = 'approve') => gw.call('POST', `/v1/approvals/${id}/${decision}`, { comment: 'checked' }, as(who));

describe('approvals', () => {
  it('a deletion without approval is refused, saying how many approvals it needs', async () => {
    const key = await newKey();
    const res = await schedule(key);
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/two-person-deletion.*needs 2 approval\(s\).*POST \/v1\/approvals/);
  });

  it('a request for approval records how many approvals the policies ask for', async () => {
    const request = await ask(await newKey());
    expect(request).toMatchObject({ operation: 'scheduleKeyDeletion', requester: requester.principal, required: 2, status: 'PENDING', approvals: [] });
  });

  it('a requester cannot approve its own request', async () => {
    const request = await ask(await newKey());
    const res = await vote(request.id, requester);
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/cannot approve or deny its own request/);
    expect((await gw.call('GET', `/v1/approvals/${request.id}`, undefined, as(requester))).body.approvals).toEqual([]);
  });

  it('a destroy with one approval is refused and with two distinct approvals proceeds', async () => {
    const key = await newKey();
    const request = await ask(key);
    expect((await vote(request.id, first)).body).toMatchObject({ status: 'PENDING', approvals: [{ principal: first.principal, comment: 'checked' }] });
    const once = await schedule(key, request.id);
    expect(once.status).toBe(409);
    expect(once.body.detail).toMatch(/is pending: 1 of 2 approvals/);
    expect((await vote(request.id, first)).status).toBe(409); // the same principal twice is still one approval
    expect((await vote(request.id, second)).body.status).toBe('APPROVED');
    const res = await schedule(key, request.id);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('PENDING_DELETION');
    expect((await gw.call('GET', `/v1/approvals/${request.id}`, undefined, as(requester))).body.status).toBe('USED');
  });

  it('an approval is used once, by its requester, for its key only; a failed use gives it back', async () => {
    const key = await newKey();
    const other = await newKey();
    const request = await ask(key);
    await vote(request.id, first);
    await vote(request.id, second);
    // Another principal cannot ride on it.
    const stranger = await gw.call('POST', `/v1/keys/${key}/schedule-deletion`, { pendingDays: 7 }, as(first, request.id));
    expect(stranger.status).toBe(409);
    expect(stranger.body.detail).toMatch(/asked for by another principal/);
    // The wrong key: refused, and the approval stays APPROVED.
    expect((await schedule(other, request.id)).status).toBe(403);
    expect((await gw.call('GET', `/v1/approvals/${request.id}`, undefined, as(requester))).body.status).toBe('APPROVED');
    expect((await schedule(key, request.id)).status).toBe(200);
    await gw.call('POST', `/v1/keys/${key}/cancel-deletion`, undefined, as(requester));
    const again = await schedule(key, request.id);
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/is USED/);
  });

  it('one denial ends the request', async () => {
    const request = await ask(await newKey());
    expect((await vote(request.id, first, 'deny')).body).toMatchObject({ status: 'DENIED', denials: [{ principal: first.principal }] });
    expect((await vote(request.id, second)).status).toBe(409);
  });

  it('an expired request takes no votes and cannot be used', async () => {
    const key = await newKey();
    const request = await ask(key);
    await vote(request.id, first);
    await vote(request.id, second);
    await gw.database.db.execute(sql`update approval_requests set expires_at = now() - interval '1 second' where id = ${request.id}`);
    expect((await gw.call('GET', `/v1/approvals/${request.id}`, undefined, as(requester))).body.status).toBe('EXPIRED');
    expect((await schedule(key, request.id)).body.detail).toMatch(/is EXPIRED/);
  });

  it('only principals the policies let approve may vote', async () => {
    const request = await ask(await newKey());
    const user = await gw.apiKey(['crypto-user']);
    expect((await vote(request.id, user)).status).toBe(403);
  });

  it('an operation that needs no approval, or that approvals cannot unlock, is not asked for', async () => {
    const key = await newKey();
    const rotate = await gw.call('POST', '/v1/approvals', { operation: 'rotateKey', key, reason: 'x' }, as(requester));
    expect(rotate.status).toBe(409);
    expect(rotate.body.detail).toMatch(/needs no approval/);
    const auditor = await gw.apiKey(['auditor']);
    expect((await gw.call('POST', '/v1/approvals', { operation: 'decrypt', key, reason: 'x' }, as(auditor))).status).toBe(403);
  });

  it('votes and uses are in the audit trail', async () => {
    const key = await newKey();
    const request = await ask(key);
    await vote(request.id, first);
    await vote(request.id, second);
    await schedule(key, request.id);
    const auditor = await gw.apiKey(['auditor']);
    const events = (await gw.call('GET', '/v1/audit/events?limit=1000', undefined, as(auditor))).body.events
      .filter((e: { detail: Record<string, string> }) => e.detail.approval === request.id);
    expect(events.map((e: { action: string; principal: string }) => [e.action, e.principal])).toEqual([
      ['requestApproval', requester.principal], ['approveRequest', first.principal], ['approveRequest', second.principal], ['scheduleKeyDeletion', requester.principal],
    ]);
  });
});
