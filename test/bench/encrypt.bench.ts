// npm run bench: encrypt and decrypt of 4 KiB through the gateway (embedded defaults: PGlite and
// the local provider) against the bare node:http + node:crypto baseline, at 1 and 50 connections,
// in the same run. Prints p50/p99, req/s and the ratios; writes .run/bench.json.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type LoadResult } from './load.ts';
import { post, start, startGateway } from './servers.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const plaintext = Buffer.alloc(4096, 7).toString('base64');

async function scenario(port: number, encryptPath: string, auth?: string): Promise<Record<string, LoadResult>> {
  const { ciphertext } = await post(port, encryptPath, { plaintext }, auth);
  const enc = () => JSON.stringify({ plaintext });
  const dec = () => JSON.stringify({ ciphertext });
  const decryptPath = encryptPath === '/encrypt' ? '/decrypt' : '/v1/decrypt';
  await load(`http://127.0.0.1:${port}`, encryptPath, enc, 8, 1, auth); // warm-up: JIT, caches
  await load(`http://127.0.0.1:${port}`, decryptPath, dec, 8, 1, auth);
  return {
    'encrypt c=1': await load(`http://127.0.0.1:${port}`, encryptPath, enc, 1, SECONDS, auth),
    'encrypt c=50': await load(`http://127.0.0.1:${port}`, encryptPath, enc, 50, SECONDS, auth),
    'decrypt c=1': await load(`http://127.0.0.1:${port}`, decryptPath, dec, 1, SECONDS, auth),
    'decrypt c=50': await load(`http://127.0.0.1:${port}`, decryptPath, dec, 50, SECONDS, auth),
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-bench-'));
const gateway = await startGateway({ KMSGW_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' });
const keyId = await gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
const bareAes = await start(['test/bench/bare-server.ts'], { BARE_MODE: 'aes' }, '/');
const bareEnvelope = await start(['test/bench/bare-server.ts'], { BARE_MODE: 'envelope' }, '/');

const ms = (x: number) => x.toFixed(3);
try {
  // Servers run one at a time, so each has the machine's other core for the load generator.
  const aes = await scenario(bareAes.port, '/encrypt');
  const env = await scenario(bareEnvelope.port, '/encrypt');
  const gw = await scenario(gateway.port, `/v1/keys/${keyId}/encrypt`, gateway.authorization);
  const rows = Object.keys(aes).map((name) => {
    const a = aes[name]!, e = env[name]!, g = gw[name]!;
    return {
      scenario: name,
      'p50 ms aes|env|gw': `${ms(a.p50)} | ${ms(e.p50)} | ${ms(g.p50)}`,
      'p99 ms aes|env|gw': `${ms(a.p99)} | ${ms(e.p99)} | ${ms(g.p99)}`,
      'req/s aes|env|gw': `${Math.round(a.rps)} | ${Math.round(e.rps)} | ${Math.round(g.rps)}`,
      'p50 gw/aes': +(g.p50 / a.p50).toFixed(2),
      'p50 gw/env': +(g.p50 / e.p50).toFixed(2),
      'req/s gw/aes': +(g.rps / a.rps).toFixed(2),
      'req/s gw/env': +(g.rps / e.rps).toFixed(2),
      errors: a.errors + e.errors + g.errors,
    };
  });
  console.table(rows);
  console.log('aes: bare handler, one AES-256-GCM call; env: bare handler, the same envelope crypto as the gateway');
  console.log('targets: p50 gw/bare at c=1 <= 1.5; req/s gw/bare at c=50 >= 0.6');
  mkdirSync('.run', { recursive: true });
  writeFileSync('.run/bench.json', JSON.stringify({ seconds: SECONDS, node: process.version, rows }, null, 2));
} finally {
  for (const s of [gateway, bareAes, bareEnvelope]) s.child.kill('SIGTERM');
}
