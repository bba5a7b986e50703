// Hedged attempts across bindings: the next is asked when the one before fails, or when it has not
// answered within a delay (a connection gone dark answers nothing until its timeout, which is far
// longer than a client should wait while another binding could serve). The first success wins.

export interface Hedged<T> {
  value: T;
  /** The attempt that served. */
  index: number;
  /** Attempts that failed, or were still running when another served. */
  passed: number[];
}

/**
 * Runs `attempt(0)`, `attempt(1)`… in order, each started when the one before failed or after
 * `afterMs` without an answer. Resolves with the first success; rejects at once on an error `fatal`
 * says ends it, else with the last error once every attempt failed. `late` receives successes that
 * come after the winner (to wipe secrets, say).
 */
export function hedge<T>(count: number, attempt: (i: number) => Promise<T>, options: { afterMs: number; fatal: (err: unknown) => boolean; late?: (value: T) => void }): Promise<Hedged<T>> {
  return new Promise((resolve, reject) => {
    const running = new Set<number>();
    const failed: number[] = [];
    let next = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => { done = true; clearTimeout(timer); };
    const launch = () => {
      clearTimeout(timer);
      if (done || next >= count) return;
      const i = next++;
      running.add(i);
      if (next < count) timer = setTimeout(launch, options.afterMs);
      attempt(i).then((value) => {
        running.delete(i);
        if (done) return options.late?.(value);
        finish();
        resolve({ value, index: i, passed: [...failed, ...running].sort((a, b) => a - b) });
      }, (err: unknown) => {
        running.delete(i);
        if (done) return;
        failed.push(i);
        if (options.fatal(err) || (next >= count && running.size === 0)) {
          finish();
          reject(err);
        } else if (next < count) launch();
      });
    };
    launch();
  });
}

/**
 * Waits for every promise, but no longer than `afterMs` once one has succeeded: the values in by
 * then, in input order. Rejects with the first promise's error when none succeeds.
 */
export function gather<T>(promises: Promise<T>[], afterMs: number): Promise<(T | undefined)[]> {
  return new Promise((resolve, reject) => {
    const values: (T | undefined)[] = promises.map(() => undefined);
    const errors: unknown[] = [];
    let pending = promises.length;
    let succeeded = 0;
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      if (--pending > 0) return;
      clearTimeout(timer);
      if (succeeded > 0) resolve([...values]);
      else reject(errors[0]);
    };
    promises.forEach((p, i) => p.then((v) => {
      values[i] = v;
      if (succeeded++ === 0 && pending > 1) timer = setTimeout(() => { pending = 0; resolve([...values]); }, afterMs);
      settle();
    }, (err: unknown) => {
      errors[i] = err;
      settle();
    }));
  });
}
