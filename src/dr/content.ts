// What a bundle's payload holds: one JSON record per line, a key with every row that hangs off it
// (and its exportable material), then the envelope repairs, then the policies, rows as the database
// writes them in JSON. Each key's record is whole on its own, so a restore plans and writes it
// without the rest of the bundle in memory.
import { fromFormat1, type JsonRow, type KeyRows } from '../db/queries/backup.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from '../keys/specs.ts';
import type { KeyState } from '../keys/lifecycle.ts';

/** One version's material as an exporter gives it (raw key, or PKCS#8 for pairs), base64. */
export interface Material { bindingId: string; version: number; material: string }

export type BundleRecord =
  | { type: 'key'; rows: KeyRows; materials: Material[] }
  | { type: 'repair'; row: JsonRow }
  | { type: 'policy'; row: JsonRow };

export interface SnapshotKey {
  id: string; spec: KeySpec; usage: KeyUsage; state: KeyState; extractable: boolean; managed: boolean; signingAlgorithm: SigningAlgorithm | null;
  connection: string; provider: string; currentVersion: number;
}
export interface SnapshotBinding { id: string; keyId: string; connection: string; provider: string; ref: string | null; role: 'primary' | 'replica'; createdAt: string; versions: Map<number, string> }
export interface SnapshotGraph { key: SnapshotKey; bindings: SnapshotBinding[] }

/** A key's graph as its record has it: bindings (primary first, then oldest) with their versions' references. */
export function keyGraph(rows: KeyRows): SnapshotGraph {
  const k = rows.key;
  const bindings: SnapshotBinding[] = rows.bindings.map((b) => ({
    id: b.id as string, keyId: b.key_id as string, connection: b.connection as string, provider: b.provider as string, ref: b.ref as string | null,
    role: b.role as SnapshotBinding['role'], createdAt: b.created_at as string, versions: new Map<number, string>(),
  }));
  const byId = new Map(bindings.map((b) => [b.id, b]));
  for (const v of rows.bindingVersions) byId.get(v.binding_id as string)?.versions.set(v.version as number, v.version_ref as string);
  return {
    key: {
      id: k.id as string, spec: k.spec as KeySpec, usage: k.usage as KeyUsage, state: k.state as KeyState, extractable: k.extractable as boolean, managed: k.managed as boolean,
      signingAlgorithm: k.signing_algorithm as SigningAlgorithm | null, connection: k.connection as string, provider: k.provider as string, currentVersion: k.current_version as number,
    },
    bindings,
  };
}

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

/** The items of `source`, the next one read while the caller works on this one: a backup's database and its bundle, a restore's bundle and its database, work at once. */
export async function* aheadByOne<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (let next = it.next(); ;) {
      const { value, done } = await next;
      if (done) return;
      next = it.next();
      next.catch(() => {}); // awaited in the next round; not left unhandled if the caller stops first
      yield value;
    }
  } finally {
    await it.return?.();
  }
}

/** A format 1 payload (`{ tables, materials }`, all in one, rows with drizzle's field names), as format 2's records. */
export function* format1Records(content: { tables: Record<string, JsonRow[] | undefined>; materials: (Material & { keyId: string })[] }): Iterable<string> {
  const table = (name: string) => (content.tables[name] ?? []).map((row) => fromFormat1(name, row));
  const ofKey = (name: string) => groupBy(table(name), (r) => r.key_id as string);
  const [versions, bindings, aliases, events] = ['key_versions', 'key_bindings', 'key_aliases', 'key_events'].map(ofKey) as Map<string, JsonRow[]>[];
  const bindingVersions = groupBy(table('binding_versions'), (v) => v.binding_id as string);
  const materials = groupBy(content.materials, (m) => m.keyId);
  for (const key of table('keys')) {
    const id = key.id as string;
    const own = bindings!.get(id) ?? [];
    const rows: KeyRows = {
      key, versions: versions!.get(id) ?? [], bindings: own, bindingVersions: own.flatMap((b) => bindingVersions.get(b.id as string) ?? []),
      aliases: aliases!.get(id) ?? [], events: events!.get(id) ?? [],
    };
    yield JSON.stringify({ type: 'key', rows, materials: (materials.get(id) ?? []).map(({ bindingId, version, material }) => ({ bindingId, version, material })) } satisfies BundleRecord);
  }
  for (const row of table('envelope_repairs')) yield JSON.stringify({ type: 'repair', row } satisfies BundleRecord);
  for (const row of table('policies')) yield JSON.stringify({ type: 'policy', row } satisfies BundleRecord);
}
