// A same-material replica's versions: the primary's material, exported by its backend wrapped for
// the replica backend's import key and imported there, so it is in the clear only inside the two
// backends (or, for the local keystore, in the gateway's memory as it always is).
import { specInfo, type KeySpec, type KeyUsage, type SigningAlgorithm } from '../keys/specs.ts';
import type { Connection } from '../routing/connection.ts';
import { isExporter, isImporter, isSigner, withCapability, type CreatedKey, type ImportRequest, type KeyProvider } from '../../providers/provider.ts';

export interface CopiedKey { id: string; spec: KeySpec; usage: KeyUsage; extractable: boolean; signingAlgorithm?: SigningAlgorithm | null }
export interface CopySource { connection: Connection; ref: string; versionRef: string }

/** Whether a replica on `to` can hold the same material as a primary on `from`. */
export const canCopy = (key: { extractable: boolean }, from: KeyProvider, to: KeyProvider): boolean => key.extractable && isExporter(from) && isImporter(to);

/**
 * Imports the source version's material on `to`: as a new key, or as the next version of `ref`;
 * `label` is the import's operation id and the binding's tags, as a new version gets them.
 */
export async function copyVersion(key: CopiedKey, from: CopySource, to: Connection, ref?: string, label: Pick<ImportRequest, 'operation' | 'tags'> = {}): Promise<CreatedKey> {
  const { spec } = key;
  const source = { ref: from.ref, versionRef: from.versionRef, spec };
  const family = specInfo[spec].family;
  const publicKey = family === 'aes' || family === 'hmac' ? undefined
    : await from.connection.call('getPublicKey', (p) => withCapability(p, isSigner, 'give a public key').getPublicKey(source));
  return to.call('importKey', (p) => withCapability(p, isImporter, 'import key material').importKey({
    spec, usage: key.usage, exportable: key.extractable, keyId: key.id, signingAlgorithm: key.signingAlgorithm ?? undefined, ref, publicKey, ...label,
    // An exporter without a scheme (SoftHSM2 has no SHA-256 OAEP) answers UNIMPLEMENTED, and the importer offers its next.
    wrap: (t) => from.connection.call('exportKey', (e) => withCapability(e, isExporter, 'export key material').exportKey({ ...source, scheme: t.scheme, wrappingKey: t.wrappingKey })),
  }));
}
