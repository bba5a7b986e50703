// `kmsgw encrypt|decrypt`: files or stdin through the gateway. Ciphertext is the gateway's binary
// envelope, written as it is (no base64), so `decrypt` reads back exactly what `encrypt` wrote.
import { readFileSync, writeFileSync } from 'node:fs';
import { callJson, pairs } from './client.ts';

interface IoOptions { in?: string; out?: string; context?: string[] }

/** Requests carry JSON, so one request holds at most the gateway's body limit (1 MiB by default). */
const read = (path?: string) => readFileSync(path && path !== '-' ? path : 0);

function write(path: string | undefined, bytes: Buffer): void {
  if (path && path !== '-') writeFileSync(path, bytes, { mode: 0o600 });
  else process.stdout.write(bytes);
}

export async function encrypt(key: string, o: IoOptions): Promise<void> {
  const out = await callJson<{ ciphertext: string }>('POST', `/v1/keys/${encodeURIComponent(key)}/encrypt`, { plaintext: read(o.in).toString('base64'), context: pairs('--context', o.context) });
  write(o.out, Buffer.from(out.ciphertext, 'base64'));
}

export async function decrypt(o: IoOptions): Promise<void> {
  const out = await callJson<{ plaintext: string }>('POST', '/v1/decrypt', { ciphertext: read(o.in).toString('base64'), context: pairs('--context', o.context) });
  write(o.out, Buffer.from(out.plaintext, 'base64'));
}
