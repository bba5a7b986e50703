// `kmsgw discover` (with a progress bar while it runs) and `kmsgw inventory export`.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { SingleBar } from 'cli-progress';
import { call, callJson, CliError, EXIT } from './client.ts';
import { follow, type Job } from './jobs.ts';
import { searchQuery, type ListOptions } from './keys.ts';

export async function discover(connection: string, o: { wait: boolean; json?: boolean }): Promise<void> {
  let job = await callJson<Job>('POST', `/v1/connections/${encodeURIComponent(connection)}/discover`);
  if (o.wait) {
    // The total is not known until the last page: the bar runs one page ahead of what was seen.
    const bar = process.stderr.isTTY && !o.json
      ? new SingleBar({ format: `discovering ${connection} [{bar}] {value} keys seen | {discovered} new | {drift} drift | {duration_formatted}`, hideCursor: true })
      : undefined;
    bar?.start(100, 0, { discovered: 0, drift: 0 });
    job = await follow(job, ({ progress }) => {
      const seen = progress.seen ?? 0;
      bar?.setTotal(seen + 100);
      bar?.update(seen, { discovered: progress.discovered ?? 0, drift: progress.drift ?? 0 });
    });
    bar?.setTotal(job.progress.seen ?? 0);
    bar?.stop();
  }
  if (o.json) console.log(JSON.stringify(job, null, 2));
  else {
    const p = job.progress;
    console.log(`${job.id} ${job.status}: ${p.seen ?? 0} keys seen, ${p.discovered ?? 0} new, ${p.managed ?? 0} managed, ${p.drift ?? 0} drift, ${p.gone ?? 0} gone`);
    for (const note of job.notes) console.log(`  note: ${note}`);
  }
  if (job.status === 'FAILED') throw new CliError(`discovery failed: ${job.error}`, EXIT.unavailable);
}

export async function inventoryExport(o: Omit<ListOptions, 'limit' | 'all' | 'json'> & { format: string; out?: string }): Promise<void> {
  const q = searchQuery(o);
  q.set('format', o.format);
  const res = await call('GET', `/v1/inventory/export?${q}`);
  const body = Readable.fromWeb(res.body as ReadableStream<Uint8Array>);
  if (o.out && o.out !== '-') await pipeline(body, createWriteStream(o.out));
  else await pipeline(body, process.stdout, { end: false });
}
