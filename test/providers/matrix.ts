// The capability matrix of all providers as Markdown, generated from their capabilities objects so
// docs/providers.md cannot drift from the code (a test compares the two).
import { keySpecs, keyUsages, signingAlgorithms } from '../../src/keys/specs.ts';
import type { Capabilities } from '../../providers/provider.ts';

export function providerMatrix(providers: Record<string, Capabilities>): string {
  const names = Object.keys(providers);
  const row = (label: string, cell: (c: Capabilities) => string) => `| ${label} | ${names.map((n) => cell(providers[n]!)).join(' | ')} |`;
  const yes = (b: boolean) => (b ? '✓' : '—');
  return [
    `| | ${names.map((n) => `\`${n}\``).join(' | ')} |`,
    `| --- | ${names.map(() => '---').join(' | ')} |`,
    ...keySpecs.map((s) => row(s, (c) => yes(c.specs.includes(s)))),
    ...keyUsages.map((u) => row(u, (c) => yes(c.usages.includes(u)))),
    ...signingAlgorithms.map((a) => row(a, (c) => yes(c.signingAlgorithms.includes(a)))),
    row('signing algorithms', (c) => (c.signing === 'any' ? 'any of the spec\'s, per call' : 'one, fixed per key')),
    row('rotation', (c) => c.rotation),
    row('deletion window kept by', (c) => c.deletion),
  ].join('\n');
}
