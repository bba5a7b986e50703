// Inventory jobs as an operator runs them, through the API: discovery passes, waiting for a job, observed keys, drift.
import { expect } from 'vitest';
import type { TestGateway } from './gateway.ts';

export async function discover(gw: TestGateway, connection: string) {
  const started = await gw.call('POST', `/v1/connections/${connection}/discover`);
  expect(started.status).toBe(202);
  return finished(gw, started.body.id);
}

export async function finished(gw: TestGateway, id: string) {
  for (let i = 0; i < 1_000; i++) {
    const job = (await gw.call('GET', `/v1/jobs/${id}`)).body;
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') {
      expect(job.status, job.error).toBe('SUCCEEDED');
      return job;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish within 100 s`);
}

/** The observed (not managed) keys of a connection. */
export const observed = async (gw: TestGateway, connection: string) => (await gw.call('GET', `/v1/keys?connection=${connection}&managed=false&limit=1000`)).body.keys as any[];

/** The drift records of one key, newest first. */
export const driftOf = async (gw: TestGateway, keyId: string) => (await gw.call('GET', `/v1/drift?keyId=${keyId}&limit=1000`)).body.drift as any[];
