// docs/providers.md carries the capability matrix generated from the providers' own capabilities.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { providerMatrix } from './matrix.ts';
import { providerCapabilities } from './capabilities.ts';

describe('docs/providers.md', () => {
  it('holds the matrix generated from the capabilities objects (regenerate: npm run docs:providers)', () => {
    const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
    expect(doc).toContain(providerMatrix(providerCapabilities()));
  });
});
