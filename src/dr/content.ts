// What a bundle's payload holds, and the key graphs read from it (a restore has no database to
// read them from; a backup reads them from the one snapshot it carries).
import type { Snapshot } from '../db/queries/backup.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../keys/specs.ts';
import type { KeyState } from '../keys/lifecycle.ts';

/** One version's material as an exporter gives it (raw key, or PKCS#8 for pairs), base64. */
export interface Material { keyId: string; bindingId: string; version: number; material: string }

export interface BackupContent { tables: Snapshot; materials: Material[] }

export interface SnapshotKey {
  id: string; spec: KeySpec; usage: KeyUsage; state: KeyState; extractable: boolean; managed: boolean; signingAlgorithm: SigningAlgorithm | null;
  connection: string; provider: string; currentVersion: number;
}
export interface SnapshotBinding { id: string; keyId: string; connection: string; provider: string; ref: string | null; role: 'primary' | 'replica'; createdAt: string; versions: Map<number, string> }
export interface SnapshotGraph { key: SnapshotKey; bindings: SnapshotBinding[] }

/** Items by key, in their order (Map.groupBy arrives with Node 21). */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const group = out.get(key(item));
    if (group) group.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

export function snapshotGraphs(tables: Snapshot): SnapshotGraph[] {
  const all = (tables.key_bindings as unknown as Omit<SnapshotBinding, 'versions'>[]).map((row) => ({ ...row, versions: new Map<number, string>() }));
  const byId = new Map(all.map((b) => [b.id, b]));
  const bindings = groupBy(all, (b) => b.keyId);
  for (const v of tables.binding_versions as unknown as { bindingId: string; version: number; versionRef: string }[]) {
    byId.get(v.bindingId)?.versions.set(v.version, v.versionRef);
  }
  return (tables.keys as unknown as SnapshotKey[]).map((key) => ({ key, bindings: bindings.get(key.id) ?? [] }));
}
