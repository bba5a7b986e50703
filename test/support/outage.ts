// A backend outage made inside the process, for providers no emulator can take down per operation.
import type { KeyProvider } from '../../providers/provider.ts';

/**
 * Makes `ops` of a provider fail as an unreachable backend does, until the returned function puts
 * them back; with `calls`, only the next that many calls of each fail, and later ones go through.
 */
export function outage(provider: KeyProvider, ops: string[], options: { calls?: number } = {}): () => void {
  const p = provider as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const saved = ops.map((op) => [op, p[op]!] as const);
  for (const [op, fn] of saved) {
    let failing = options.calls ?? Infinity;
    p[op] = async (...args) => {
      if (failing-- > 0) throw Object.assign(new Error(`connect ECONNREFUSED (${op} made to fail by the test)`), { code: 'ECONNREFUSED' });
      return fn.apply(provider, args);
    };
  }
  return () => { for (const [op, fn] of saved) p[op] = fn; };
}

/**
 * Makes `op` of a provider act but lose its first answer on the way back, as a connection reset
 * after the backend acted does. `calls` counts the calls; `restore` puts the operation back.
 */
export function answerLost(provider: KeyProvider, op: string): { calls: number; restore: () => void } {
  const p = provider as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const original = p[op]!;
  const lost = { calls: 0, restore: () => { p[op] = original; } };
  p[op] = async (...args) => {
    const made = await original.apply(provider, args);
    if (lost.calls++ === 0) throw Object.assign(new Error(`read ECONNRESET (${op}'s answer lost by the test)`), { code: 'ECONNRESET' });
    return made;
  };
  return lost;
}
