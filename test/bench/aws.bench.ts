// npm run bench (second part): encrypt through the gateway's AWS adapter against a direct
// @aws-sdk/client-kms Encrypt to the same emulator (moto, started by deploy/moto.sh), in the same
// run: 4 KiB of plaintext at 1 and 50 connections. Prints p50 overhead and the throughput ratio.
import { EncryptCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKmsClient } from '../../providers/awskms/client.ts';
import { load, type LoadResult } from './load.ts';
import { gatewayConfig, startGateway } from './servers.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: npm run bench starts moto through deploy/moto.sh');
const plaintext = Buffer.alloc(4096, 7);

/** The same closed loop as load(), calling the SDK directly (configured as the adapter configures it). */
async function direct(connections: number, seconds: number): Promise<LoadResult> {
  const kms = newKmsClient({ region: process.env.AWS_REGION ?? 'us-east-1', endpoint });
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: plaintext })).catch(() => { errors++; });
      latencies.push(performance.now() - s);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-bench-aws-'));
const config = gatewayConfig(dataDir, { connections: [{ name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'us-east-1', endpoint, rateLimitPerSecond: 0 }] });
const gateway = await startGateway({ KMSGW_DATA_DIR: dataDir, KMSGW_CONFIG: config, DATABASE_URL: '' });
try {
  const keyId = await gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
  const body = () => JSON.stringify({ plaintext: plaintext.toString('base64') });
  const url = `http://127.0.0.1:${gateway.port}`;
  await load(url, `/v1/keys/${keyId}/encrypt`, body, 8, 1, gateway.authorization);
  await direct(8, 1);
  const rows = [];
  for (const c of [1, 50]) {
    const d = await direct(c, SECONDS);
    const g = await load(url, `/v1/keys/${keyId}/encrypt`, body, c, SECONDS, gateway.authorization);
    rows.push({
      scenario: `encrypt 4 KiB c=${c}`, 'direct p50 ms': d.p50.toFixed(3), 'gw p50 ms': g.p50.toFixed(3), 'p50 overhead ms': (g.p50 - d.p50).toFixed(3),
      'direct req/s': Math.round(d.rps), 'gw req/s': Math.round(g.rps), 'throughput ratio': +(g.rps / d.rps).toFixed(2), errors: d.errors + g.errors,
    });
  }
  console.table(rows);
  console.log('targets: p50 overhead <= 0.25 ms; throughput ratio >= 0.8 (direct: @aws-sdk/client-kms Encrypt to the same emulator)');
  mkdirSync('.run', { recursive: true });
  writeFileSync('.run/bench-aws.json', JSON.stringify({ seconds: SECONDS, endpoint, rows }, null, 2));
} finally {
  gateway.child.kill('SIGTERM');
}
