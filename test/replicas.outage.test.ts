// A whole cloud gone: keys replicated across AWS KMS (a moto server of this test's own), Azure Key
// Vault (the msw wire fixture) and an HSM (the SoftHSM2 token), each cloud primary for some of them.
// The AWS emulator's process is frozen mid-run: every envelope made before still decrypts, encrypt
// keeps working without AWS's wrap, and once the process runs again the sync job adds those wraps.
import pMap from 'p-map';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeEnvelope } from '../src/crypto/envelope.ts';
import { azureKeyVaultFixture, TENANT } from './fixtures/azure-keyvault.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { finished } from './support/inventory.ts';
import { startMoto, type Moto } from './support/moto.ts';
import { softhsmConnection } from './support/softhsm.ts';

const vaultUrl = 'https://kmsgw-outage.vault.azure.net';
const server = setupServer(...azureKeyVaultFixture(vaultUrl).handlers);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const CLOUDS = ['aws', 'azure', 'hsm'] as const;
const ENVELOPES = 1_000;
const CONCURRENCY = 10;

let moto: Moto;
let gw: TestGateway;
beforeAll(async () => {
  moto = await startMoto();
  server.listen({ onUnhandledRequest: 'bypass' });
  gw = await startGateway({ config: { connections: [
    // The default timeouts (5 s an attempt, 15 s in all): decrypt asks a replica after 250 ms without an answer.
    { name: 'aws', provider: 'aws', region: 'us-east-1', endpoint: moto.endpoint },
    { name: 'azure', provider: 'azure', vaultUrl },
    softhsmConnection('hsm'),
  ] } });
}, 120_000);
afterAll(async () => {
  await gw?.close();
  server.close();
  await moto?.close();
});

const message = (i: number) => b64(`envelope ${i}`);

it('1,000 envelopes across AWS↔Azure↔HSM replicas all decrypt with the AWS emulator frozen; encrypt goes on; the sync job repairs afterwards', async () => {
  // Three keys with each cloud as primary, every one replicated to the other two.
  const keys: string[] = [];
  for (const primary of CLOUDS) {
    for (let n = 0; n < 3; n++) {
      const res = await gw.call('POST', '/v1/keys', { spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', connection: primary, replicas: CLOUDS.filter((c) => c !== primary) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      keys.push(res.body.id);
    }
  }
  const keyOf = (i: number) => keys[i % keys.length]!;
  const encrypt = async (i: number) => {
    const res = await gw.call('POST', `/v1/keys/${keyOf(i)}/encrypt`, { plaintext: message(i), context: { n: String(i) } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.ciphertext as string;
  };
  const envelopes = await pMap(Array.from({ length: ENVELOPES }, (_, i) => i), encrypt, { concurrency: CONCURRENCY });
  for (const e of envelopes) expect(decodeEnvelope(Buffer.from(e, 'base64')).wraps).toHaveLength(3);

  moto.freeze();
  const failures: string[] = [];
  await pMap(envelopes.entries(), async ([i, ciphertext]) => {
    const res = await gw.call('POST', '/v1/decrypt', { ciphertext, context: { n: String(i) } });
    if (res.status !== 200 || res.body.plaintext !== message(i)) failures.push(`${i}: ${res.status} ${res.body.detail ?? ''}`);
  }, { concurrency: CONCURRENCY });
  expect(failures).toEqual([]);
  // The calls AWS never answers fail at their deadline; then its circuit opens and it is not waited for at all.
  const circuits = async () => (await gw.call('GET', '/v1/connections')).body.connections.map((c: { name: string; circuit: string }) => `${c.name}:${c.circuit}`);
  for (let i = 0; i < 300 && (await circuits())[0] !== 'aws:open'; i++) await new Promise((r) => setTimeout(r, 100));
  expect(await circuits()).toEqual(['aws:open', 'azure:closed', 'hsm:closed']);

  // During the outage every key still encrypts, on its two other bindings; those envelopes open too.
  const during = await pMap(Array.from({ length: 90 }, (_, i) => ENVELOPES + i), encrypt, { concurrency: CONCURRENCY });
  for (const e of during) expect(decodeEnvelope(Buffer.from(e, 'base64')).wraps.length).toBe(2);
  const opened = await pMap(during.entries(), async ([j, ciphertext]) => (await gw.call('POST', '/v1/decrypt', { ciphertext, context: { n: String(ENVELOPES + j) } })).body.plaintext, { concurrency: CONCURRENCY });
  expect(opened).toEqual(during.map((_, j) => message(ENVELOPES + j)));

  // AWS is back; the sync of each key adds AWS's wrap to its 10 envelopes (after the circuit lets calls through again).
  moto.thaw();
  await gw.runtime.jobs.start();
  const jobs = await pMap(keys, async (k) => (await gw.call('POST', `/v1/keys/${k}/sync`)).body.id as string);
  const progress = await Promise.all(jobs.map(async (id) => (await finished(gw, id)).progress));
  expect(progress).toEqual(keys.map(() => ({ repaired: 10, wrapsAdded: 10 })));
  const metrics = await (await gw.app.request('/metrics', { headers: { authorization: `Bearer ${gw.secret}` } })).text();
  expect(metrics).toMatch(/^kmsgw_envelopes_awaiting_repair 0$/m);
  expect(metrics).toMatch(/^kmsgw_envelope_missing_wraps_total\{connection="aws"\} 90$/m);
  // Each decrypt of an AWS-primary key's envelope was served by a replica after AWS failed (the envelopes
  // made during the outage carry no AWS wrap, so AWS was not tried for them). Others may have passed AWS
  // over too, when their own primary was slow enough for the hedge to ask it: every one is in the audit
  // trail, and the counter agrees with it.
  const auditor = await gw.apiKey(['auditor']);
  const passedAws = await Promise.all(keys.map(async (k) => {
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${k}&action=decrypt&limit=1000`, undefined, { authorization: `Bearer ${auditor.secret}` })).body.events as any[];
    return events.filter((e) => e.status === 200 && String(e.detail.failoverFrom ?? '').split(',').includes('aws')).length;
  }));
  const awsPrimary = envelopes.filter((_, i) => keys.indexOf(keyOf(i)) < 3).length;
  expect(passedAws.slice(0, 3).reduce((a, b) => a + b, 0)).toBe(awsPrimary);
  const failovers = [...metrics.matchAll(/^kmsgw_failovers_total\{operation="decrypt",from="aws",to="[a-z]+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  expect(failovers).toBe(passedAws.reduce((a, b) => a + b, 0));
}, 300_000);
