// A backend outage made inside the process, for providers no emulator can take down per operation.
import type { KeyProvider } from '../../providers/provider.ts';

/** Makes `ops` of a provider fail as an unreachable backend does, until the returned function puts them back. */
export function outage(provider: KeyProvider, ops: string[]): () => void {
  const p = provider as unknown as Record<string, unknown>;
  const saved = ops.map((op) => [op, p[op]] as const);
  for (const op of ops) p[op] = async () => { throw Object.assign(new Error(`connect ECONNREFUSED (${op} made to fail by the test)`), { code: 'ECONNREFUSED' }); };
  return () => { for (const [op, fn] of saved) p[op] = fn; };
}
