// Every transition from every state, the deletion-window rules and the date-driven moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOnce } from '../src/jobs/lifecycle-sweep.ts';
import { keyStates, type KeyState } from '../src/keys/lifecycle.ts';
import { newLogger } from '../src/log.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

const DAY = 86_400_000;
const newKey = async (body: Record<string, unknown> = {}) => (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', ...body })).body;
const sweep = (now: Date) => sweepOnce(gw.database.db, gw.runtime.services.keys, newLogger('silent'), now);

// Independent of src/keys/lifecycle.ts: action -> [states it may start from, state it ends in, reason].
const table: Record<string, [KeyState[], KeyState, string]> = {
  activate: [['PRE_ACTIVE'], 'ACTIVE', 'ACTIVATION'],
  suspend: [['ACTIVE'], 'SUSPENDED', 'SUSPENSION'],
  reactivate: [['SUSPENDED'], 'ACTIVE', 'REACTIVATION'],
  deactivate: [['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED'], 'DEACTIVATED', 'REVOCATION'],
  compromise: [['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED', 'DEACTIVATED'], 'COMPROMISED', 'COMPROMISE'],
  'schedule-deletion': [['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED', 'DEACTIVATED', 'COMPROMISED'], 'PENDING_DELETION', 'DELETION_SCHEDULED'],
  'cancel-deletion': [['PENDING_DELETION'], 'SUSPENDED', 'DELETION_CANCELLED'],
};

describe.each(Object.keys(table))('transition %s', (action) => {
  const [from, to, reason] = table[action]!;
  it.each([...keyStates])(`from %s: applied with its reason when allowed, refused with 409 and no change otherwise`, async (state) => {
    const key = await newKey();
    await gw.forceState(key.id, state, state === 'PRE_ACTIVE' ? ', activation_date = null' : state === 'PENDING_DELETION' ? `, deletion_date = now() + interval '7 days', state_before_deletion = 'ACTIVE'` : '');
    const res = await gw.call('POST', `/v1/keys/${key.id}/${action}`);
    const events = (await gw.call('GET', `/v1/keys/${key.id}/events`)).body.events;
    if (from.includes(state)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.state).toBe(to);
      expect(events.at(-1)).toMatchObject({ type: 'TRANSITION', fromState: state, toState: to, reason, actor: gw.principal });
    } else {
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('FAILED_PRECONDITION');
      expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.state).toBe(state);
      expect(events.at(-1).type).toBe('CREATED');
    }
  });
});

describe('deletion window', () => {
  it.each([0, 6, 31, 365, 7.5])('pendingDays %s is refused with 400 and changes nothing', async (days) => {
    const key = await newKey();
    const res = await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`, { pendingDays: days });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('pendingDays');
    expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.state).toBe('ACTIVE');
  });

  it.each([7, 30])('pendingDays %s is accepted and sets the deletion date that far ahead', async (days) => {
    const key = await newKey();
    const before = Date.now();
    const res = await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`, { pendingDays: days });
    expect(res.status).toBe(200);
    const at = Date.parse(res.body.dates.deletion);
    expect(at).toBeGreaterThanOrEqual(before + days * DAY);
    expect(at).toBeLessThanOrEqual(Date.now() + days * DAY);
  });

  it('the default waiting period is 30 days', async () => {
    const key = await newKey();
    const res = await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`);
    expect(Math.round((Date.parse(res.body.dates.deletion) - Date.now()) / DAY)).toBe(30);
  });

  it('a pending key cannot be used, and cancelling returns an ACTIVE key as SUSPENDED', async () => {
    const key = await newKey();
    const ct = (await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
    await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`, { pendingDays: 7 });
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct })).status).toBe(409);
    const res = await gw.call('POST', `/v1/keys/${key.id}/cancel-deletion`);
    expect(res.body).toMatchObject({ state: 'SUSPENDED', dates: { deletion: null } });
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct })).status).toBe(200);
  });

  it('cancelling returns a DEACTIVATED key to DEACTIVATED', async () => {
    const key = await newKey();
    await gw.call('POST', `/v1/keys/${key.id}/deactivate`);
    await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`, { pendingDays: 7 });
    expect((await gw.call('POST', `/v1/keys/${key.id}/cancel-deletion`)).body.state).toBe('DEACTIVATED');
  });

  it('at the end of the window the key is destroyed: material gone, metadata and history kept', async () => {
    const key = await newKey({ aliases: ['doomed'] });
    const ct = (await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
    await gw.call('POST', `/v1/keys/${key.id}/schedule-deletion`, { pendingDays: 7 });
    await sweep(new Date(Date.now() + 6 * DAY));
    expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.state).toBe('PENDING_DELETION');
    await sweep(new Date(Date.now() + 7 * DAY + 60_000));
    // The material goes with the key's sync job, which the destruction queued.
    expect((await gw.synced(key.id)).notes).toEqual(['local: destroyed']);
    const after = await gw.call('GET', '/v1/keys/alias/doomed');
    expect(after.body).toMatchObject({ id: key.id, state: 'DESTROYED', spec: 'AES_256' });
    expect(after.body.dates.destroyed).not.toBeNull();
    const events = (await gw.call('GET', `/v1/keys/${key.id}/events`)).body.events;
    expect(events.map((e: { reason: string | null }) => e.reason)).toEqual([null, 'DELETION_SCHEDULED', 'DESTRUCTION']);
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct })).status).toBe(409);
    expect((await gw.call('POST', `/v1/keys/${key.id}/cancel-deletion`)).status).toBe(409);
    const ref = after.body.bindings[0].ref;
    const rows = await gw.database.db.execute(`select count(*)::int as n from local_key_material where ref = '${ref}'` as never);
    expect(JSON.stringify(rows)).toContain('"n":0');
  });
});

describe('dates', () => {
  it('a key with a future activation date is PRE_ACTIVE, refuses to encrypt, and becomes ACTIVE on its date', async () => {
    const activationDate = new Date(Date.now() + DAY).toISOString();
    const key = await newKey({ activationDate });
    expect(key.state).toBe('PRE_ACTIVE');
    expect((await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('x') })).status).toBe(409);
    await sweep(new Date(Date.now() + DAY + 1000));
    const events = (await gw.call('GET', `/v1/keys/${key.id}/events`)).body.events;
    expect(events.at(-1)).toMatchObject({ toState: 'ACTIVE', reason: 'ACTIVATION', actor: 'system:lifecycle' });
  });

  it('a key not active yet has no rotation due: its rotation period runs from its activation, by date or by hand', async () => {
    const activationDate = new Date(Date.now() + 10 * DAY);
    const byDate = await newKey({ activationDate: activationDate.toISOString(), rotationPeriodDays: 30 });
    expect(byDate.nextRotationAt).toBeNull();
    const activatedAt = new Date(activationDate.getTime() + 1000);
    await sweep(activatedAt);
    expect(Date.parse((await gw.call('GET', `/v1/keys/${byDate.id}`)).body.nextRotationAt)).toBe(activatedAt.getTime() + 30 * DAY);
    const byHand = await newKey({ activationDate: activationDate.toISOString(), rotationPeriodDays: 30 });
    const before = Date.now();
    const activated = (await gw.call('POST', `/v1/keys/${byHand.id}/activate`)).body;
    expect(Date.parse(activated.nextRotationAt)).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(Date.parse(activated.nextRotationAt)).toBeLessThan(Date.now() + 30 * DAY + 1000);
  });

  it('a key past its deactivation date is DEACTIVATED (reason EXPIRY) and still decrypts', async () => {
    const key = await newKey({ deactivationDate: new Date(Date.now() + DAY).toISOString() });
    const ct = (await gw.call('POST', `/v1/keys/${key.id}/encrypt`, { plaintext: b64('x') })).body.ciphertext;
    await sweep(new Date(Date.now() + 2 * DAY));
    expect((await gw.call('GET', `/v1/keys/${key.id}`)).body.state).toBe('DEACTIVATED');
    expect((await gw.call('GET', `/v1/keys/${key.id}/events`)).body.events.at(-1).reason).toBe('EXPIRY');
    expect((await gw.call('POST', '/v1/decrypt', { ciphertext: ct })).status).toBe(200);
  });

  it('a key whose rotation period ran out is rotated once, even by two sweeps at the same time', async () => {
    const key = await newKey({ rotationPeriodDays: 90 });
    const later = new Date(Date.now() + 91 * DAY);
    await Promise.all([sweep(later), sweep(later)]);
    const res = (await gw.call('GET', `/v1/keys/${key.id}`)).body;
    expect(res.currentVersion).toBe(2);
    expect(Date.parse(res.nextRotationAt)).toBeGreaterThan(Date.now() + 89 * DAY);
  });
});
