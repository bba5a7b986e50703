// npm run bench (third part): encrypt and decrypt of 4 KiB through the gateway with the DEK wrapped
// by a SoftHSM2 token (the pkcs11 provider) against the same with the local provider, one gateway,
// the same run, at 1 and 50 connections. Prints p50, req/s and the pkcs11/local ratios.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { softhsmConnection } from '../support/softhsm.ts';
import { load } from './load.ts';
import { post, startGateway } from './servers.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const plaintext = Buffer.alloc(4096, 7).toString('base64');

const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-bench-pkcs11-'));
const config = join(dataDir, 'config.yaml');
writeFileSync(config, stringify({ connections: [{ name: 'local', provider: 'local' }, softhsmConnection('hsm')] }));
const gateway = await startGateway({ KMSGW_DATA_DIR: dataDir, KMSGW_CONFIG: config, DATABASE_URL: '' });
try {
  const url = `http://127.0.0.1:${gateway.port}`;
  const keyOn = (connection: string) => gateway.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection });
  const keys = { local: await keyOn('local'), pkcs11: await keyOn('hsm') };
  const rows = [];
  for (const op of ['encrypt', 'decrypt'] as const) {
    for (const c of [1, 50]) {
      const result = {} as Record<keyof typeof keys, Awaited<ReturnType<typeof load>>>;
      for (const [name, id] of Object.entries(keys) as [keyof typeof keys, string][]) {
        const { ciphertext } = await post(gateway.port, `/v1/keys/${id}/encrypt`, { plaintext }, gateway.authorization);
        const path = op === 'encrypt' ? `/v1/keys/${id}/encrypt` : '/v1/decrypt';
        const body = op === 'encrypt' ? () => JSON.stringify({ plaintext }) : () => JSON.stringify({ ciphertext });
        await load(url, path, body, 8, 1, gateway.authorization); // warm-up: JIT, caches, token sessions
        result[name] = await load(url, path, body, c, SECONDS, gateway.authorization);
      }
      const { local: l, pkcs11: p } = result;
      rows.push({
        scenario: `${op} 4 KiB c=${c}`, 'p50 ms local|pkcs11': `${l.p50.toFixed(3)} | ${p.p50.toFixed(3)}`,
        'req/s local|pkcs11': `${Math.round(l.rps)} | ${Math.round(p.rps)}`, 'req/s pkcs11/local': +(p.rps / l.rps).toFixed(2), errors: l.errors + p.errors,
      });
    }
  }
  console.table(rows);
  console.log('pkcs11: SoftHSM2 wraps each envelope DEK (AES-256-GCM inside the token); local: node:crypto');
  mkdirSync('.run', { recursive: true });
  writeFileSync('.run/bench-pkcs11.json', JSON.stringify({ seconds: SECONDS, rows }, null, 2));
} finally {
  gateway.child.kill('SIGTERM');
}
