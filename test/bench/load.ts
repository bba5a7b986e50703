// A small closed-loop load generator on undici's keep-alive pool: `connections` workers, each
// sending its next request when the last one answered, for a fixed duration. Latencies are kept
// in full, so percentiles are exact.
import { Pool } from 'undici';

export interface LoadResult { requests: number; errors: number; seconds: number; rps: number; p50: number; p99: number }

export async function load(origin: string, path: string, body: () => string, connections: number, seconds: number, authorization?: string): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body: body() });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) errors++;
      latencies.push(performance.now() - start);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}
