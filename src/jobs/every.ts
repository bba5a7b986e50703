// A periodic task on one instance: the lifecycle sweep, scheduled discovery, compliance scans and replica sync.

/** Who queues scheduled jobs, in their `createdBy`. */
export const SCHEDULE = 'system:schedule';

/** Runs `task` every `intervalMs`, never two at once; returns the stop. */
export function every(intervalMs: number, task: () => Promise<unknown>, onError: (err: unknown) => void): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task().catch(onError).finally(() => { running = false; });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
