// Background jobs as the CLI follows them: polled until they end, with a hook for progress display.
import { callJson } from './client.ts';

export interface Job { id: string; target: string; status: string; progress: Record<string, number>; notes: string[]; error: string | null }

/** Polls the job every half second until it has succeeded or failed; `tick` sees each state. */
export async function follow(job: Job, tick?: (job: Job) => void): Promise<Job> {
  while (job.status === 'QUEUED' || job.status === 'RUNNING') {
    await new Promise((r) => setTimeout(r, 500));
    job = await callJson<Job>('GET', `/v1/jobs/${job.id}`);
    tick?.(job);
  }
  return job;
}
