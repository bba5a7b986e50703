// npm run bench (fourth part): failover, measured. Keys whose primary is AWS KMS (a moto process of
// the bench's own) with a replica on the SoftHSM2 token. Decrypt latency healthy and on an
// HSM-only key (the baselines), then with the moto process frozen (SIGSTOP: it accepts and never
// answers): the first request, those before AWS's circuit opens, and the steady state after. Then
// encrypt healthy and during the outage, and the repair of the envelopes it made once AWS answers again.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pMap from 'p-map';
import { startMoto } from '../support/moto.ts';
import { softhsmConnection } from '../support/softhsm.ts';
import { gatewayConfig, post, startGateway } from './servers.ts';

const ENVELOPES = 2_000;
const SAMPLE = 300;
const plaintext = Buffer.alloc(1024, 7).toString('base64');

const moto = await startMoto();
const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-bench-failover-'));
// AWS on the default timeouts: 5 s an attempt, 15 s in all; failover after 250 ms without an answer.
const config = gatewayConfig(dataDir, { connections: [{ name: 'aws', provider: 'aws', region: 'us-east-1', endpoint: moto.endpoint }, softhsmConnection('hsm')], replicas: { syncEverySeconds: 0 } });
const gateway = await startGateway({ KMSGW_DATA_DIR: dataDir, KMSGW_CONFIG: config, DATABASE_URL: '', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
const timed = async (path: string, body: unknown) => {
  const t = performance.now();
  const reply = await post(gateway.port, path, body, gateway.authorization);
  if (!reply.plaintext && !reply.ciphertext) throw new Error(`${path}: ${JSON.stringify(reply)}`);
  return performance.now() - t;
};
const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: +s.at(-1)!.toFixed(2) };
};
const circuit = async () => {
  const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/connections`, { headers: { authorization: gateway.admin } });
  return ((await res.json()) as { connections: { name: string; circuit: string }[] }).connections.find((c) => c.name === 'aws')!.circuit;
};

try {
  const key = await gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws', replicas: ['hsm'] });
  const hsmOnly = await gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'hsm' });
  const seal = async (k: string) => (await post(gateway.port, `/v1/keys/${k}/encrypt`, { plaintext }, gateway.authorization)).ciphertext as string;
  const envelopes = await pMap(Array.from({ length: ENVELOPES }), () => seal(key), { concurrency: 10 });
  const hsmEnvelopes = await pMap(Array.from({ length: SAMPLE }), () => seal(hsmOnly), { concurrency: 10 });
  let next = 0;
  const decryptNext = () => timed('/v1/decrypt', { ciphertext: envelopes[next++ % ENVELOPES] });
  const serially = async (n: number, f: (i: number) => Promise<number>) => { const out: number[] = []; for (let i = 0; i < n; i++) out.push(await f(i)); return out; };

  const healthy = await serially(SAMPLE, decryptNext);
  const hsmBaseline = await serially(SAMPLE, (i) => timed('/v1/decrypt', { ciphertext: hsmEnvelopes[i] }));
  const encryptHealthy = await pMap(Array.from({ length: 1_000 }), () => timed(`/v1/keys/${key}/encrypt`, { plaintext }), { concurrency: 10 });

  moto.freeze();
  const frozenAt = performance.now();
  const beforeOpen: number[] = [];
  while ((await circuit()) !== 'open') beforeOpen.push(...await serially(10, decryptNext));
  const openAfterS = (performance.now() - frozenAt) / 1000;
  const steady = await serially(SAMPLE, decryptNext);
  const during = await pMap(Array.from({ length: 1_000 }), () => timed(`/v1/keys/${key}/encrypt`, { plaintext }), { concurrency: 10 });

  moto.thaw();
  // The circuit lets a trial call through after 5 s; the sync job's first step is that call.
  await new Promise((r) => setTimeout(r, 5_500));
  const t0 = performance.now();
  const job = await post(gateway.port, `/v1/keys/${key}/sync`, {}, gateway.admin);
  let done: any;
  for (;;) {
    done = await (await fetch(`http://127.0.0.1:${gateway.port}/v1/jobs/${job.id}`, { headers: { authorization: gateway.admin } })).json();
    if (done.status === 'SUCCEEDED' || done.status === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const repairS = (performance.now() - t0) / 1000;

  const rows = {
    'decrypt, healthy (AWS primary)': stats(healthy),
    'decrypt, HSM-only key (the replica\'s own cost)': stats(hsmBaseline),
    'decrypt, AWS frozen: first request': { n: 1, p50: +beforeOpen[0]!.toFixed(2), p99: +beforeOpen[0]!.toFixed(2), max: +beforeOpen[0]!.toFixed(2) },
    [`decrypt, AWS frozen, circuit closed (${openAfterS.toFixed(1)} s until it opened)`]: stats(beforeOpen),
    'decrypt, AWS frozen, circuit open (steady state)': stats(steady),
    'encrypt c=10, healthy (AWS and HSM wraps)': stats(encryptHealthy),
    'encrypt c=10, AWS frozen, circuit open (HSM wrap, repair record)': stats(during),
  };
  console.table(rows);
  const repaired = done.progress.repaired ?? 0;
  console.log(`repair: job ${done.status}, ${repaired} envelopes in ${repairS.toFixed(2)} s = ${Math.round(repaired / repairS)} envelopes/s (each: an HSM unwrap and an AWS wrap)`);
  console.log(`ratios: first request / healthy p50 = ${(beforeOpen[0]! / stats(healthy).p50).toFixed(0)}×; steady p50 / HSM-only p50 = ${(stats(steady).p50 / stats(hsmBaseline).p50).toFixed(2)}×; encrypt p50 frozen / healthy = ${(stats(during).p50 / stats(encryptHealthy).p50).toFixed(2)}×`);
  mkdirSync('.run', { recursive: true });
  writeFileSync('.run/bench-failover.json', JSON.stringify({ rows, openAfterS, repair: { status: done.status, repaired, seconds: repairS } }, null, 2));
} finally {
  gateway.child.kill('SIGTERM');
  await moto.close();
}
