// Deadlines for provider calls from one shared ticker instead of a timer per call: a timer per
// call cost about a twentieth of a request. A call is failed at most one tick after its deadline.
import { KmsError } from '../errors.ts';

interface Pending { at: number; reject: (err: KmsError) => void; message: string }

const TICK_MS = 50;
const pending = new Set<Pending>();
let ticker: NodeJS.Timeout | undefined;

function tick(): void {
  const now = performance.now();
  for (const p of pending) {
    if (p.at <= now) {
      pending.delete(p);
      p.reject(new KmsError('DEADLINE_EXCEEDED', p.message));
    }
  }
  if (pending.size === 0) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Settles like `work`, or fails with DEADLINE_EXCEEDED once `ms` have passed. */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { at: performance.now() + ms, reject, message };
    pending.add(entry);
    if (!ticker) {
      ticker = setInterval(tick, TICK_MS);
      ticker.unref();
    }
    work.then(
      (value) => { pending.delete(entry); resolve(value); },
      (err: unknown) => { pending.delete(entry); reject(err); },
    );
  });
}
