// `kmsgw encrypt|decrypt`: files or stdin through the gateway. Ciphertext is the gateway's binary
// envelope (or, with --native, the backend's own ciphertext), written as it is (no base64), so
// `decrypt` reads back exactly what `encrypt` wrote.
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError, EXIT, callJson, pairs } from './client.ts';

interface IoOptions { in?: string; out?: string; context?: string[]; native?: boolean }
interface NativeOptions { key?: string; version?: string; connection?: string }

/** Requests carry JSON, so one request holds at most the gateway's body limit (1 MiB by default). */
const read = (path?: string) => readFileSync(path && path !== '-' ? path : 0);

function write(path: string | undefined, bytes: Buffer): void {
  if (path && path !== '-') writeFileSync(path, bytes, { mode: 0o600 });
  else process.stdout.write(bytes);
}

export async function encrypt(key: string, o: IoOptions): Promise<void> {
  const out = await callJson<{ ciphertext: string; keyId: string; version: number; connection?: string }>('POST', `/v1/keys/${encodeURIComponent(key)}/encrypt`, {
    plaintext: read(o.in).toString('base64'), context: pairs('--context', o.context), ...(o.native && { format: 'native' }),
  });
  write(o.out, Buffer.from(out.ciphertext, 'base64'));
  // A native ciphertext does not name its key: say what decrypting it takes.
  if (o.native) process.stderr.write(`kmsgw: decrypt with --native --key ${out.keyId} --version ${out.version} --connection ${out.connection}\n`);
}

export async function decrypt(o: IoOptions & NativeOptions): Promise<void> {
  let native = {};
  if (o.native) {
    const version = Number(o.version);
    if (!o.key || !Number.isInteger(version)) throw new CliError('--native needs --key and --version (as encrypt --native printed them)', EXIT.usage);
    native = { format: 'native', key: o.key, version, connection: o.connection };
  } else if (o.key || o.version || o.connection) {
    throw new CliError('--key, --version and --connection go with --native: an envelope names its key', EXIT.usage);
  }
  const out = await callJson<{ plaintext: string }>('POST', '/v1/decrypt', { ciphertext: read(o.in).toString('base64'), context: pairs('--context', o.context), ...native });
  write(o.out, Buffer.from(out.plaintext, 'base64'));
}
