// `kmsgw backup download`: a backup bundle made by a running gateway (POST /v1/backups), from
// anywhere its API is reachable, written as `kmsgw backup create` writes one: 0600, through a
// partial file renamed when whole, so a stream cut short leaves no bundle behind.
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { intoFile, readHeader } from '../dr/bundle.ts';
import { approval, call, CliError, EXIT } from './client.ts';

export async function backupDownload(o: { encryptionKey: string; signingKey: string; out: string; approval?: string; json?: boolean }): Promise<void> {
  const res = await call('POST', '/v1/backups', { encryptionKey: o.encryptionKey, signingKey: o.signingKey }, approval(o));
  try {
    await intoFile(o.out, async (sink) => {
      for await (const chunk of Readable.fromWeb(res.body as ReadableStream<Uint8Array>)) await sink(chunk as Buffer);
    });
  } catch (err) {
    throw new CliError(`the backup stream broke off (${(err as Error).message}); nothing was written to ${o.out}`, EXIT.unavailable);
  }
  const { id, contents } = await readHeader(o.out);
  if (o.json) return console.log(JSON.stringify({ id, file: o.out, ...contents }, null, 2));
  console.log(`${id} written to ${o.out}: ${contents.keys} keys, ${contents.policies} policies, material of ${contents.materials} exportable key versions`);
}
