// The material holder's side of an import (ImportRequest.wrap), for tests that call an importer
// directly: the material wrapped for whatever target the importer offers.
import { wrapForImporter } from '../../src/crypto/keywrap.ts';
import { KmsError } from '../../src/errors.ts';
import type { ImportTarget } from '../../providers/provider.ts';

/** `offered` collects the schemes the importer offered, in order; a scheme `can` refuses is answered UNIMPLEMENTED, as an exporter without it answers. */
export function holder(material: Uint8Array, { offered = [], can = () => true }: { offered?: string[]; can?: (scheme: string) => boolean } = {}) {
  return async (t: ImportTarget): Promise<Uint8Array> => {
    offered.push(t.scheme);
    if (!can(t.scheme)) throw new KmsError('UNIMPLEMENTED', `the holder cannot wrap with ${t.scheme}`);
    return wrapForImporter(t.wrappingKey, t.scheme, material);
  };
}
