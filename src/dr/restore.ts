// Restoring a bundle into an empty gateway. Keys come back with their ids, versions and binding
// ids, so envelopes made before keep opening. Where a key lives is re-decided binding by binding:
//   - a binding on a backend that survives (a cloud, an HSM still configured) is kept as it was;
//   - a binding whose backend is gone (the local keystore, which lived in the lost database, or a
//     connection mapped away with `onto`) gets the key's material back from the bundle, imported
//     into the local keystore or the `onto` connection (an HSM, say), when the key was exportable;
//   - otherwise it is dropped, and a surviving replica becomes primary if the primary was dropped.
// A key left with no binding is reported lost and kept as it was, in case its backend returns.
// Imports run first; every row then goes in one transaction, so a failed restore (an import or the
// write) leaves the database empty and destroys the material imported for it.
import pMap from 'p-map';
import type { Db } from '../db/client.ts';
import { auditOperatorAction } from '../audit/operator.ts';
import { isEmptyGateway, writeSnapshot } from '../db/queries/backup.ts';
import { heldMaterial } from '../crypto/material.ts';
import { needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Connection, Connections } from '../routing/connection.ts';
import { isImporter, withCapability } from '../../providers/provider.ts';
import { openBundle, type BundleHeader } from './bundle.ts';
import { groupBy, snapshotGraphs, type BackupContent, type Material, type SnapshotBinding, type SnapshotGraph } from './content.ts';

export interface RestoreOptions {
  /** Connections lost with the old gateway, each mapped to the connection its exportable keys' material goes to. */
  onto?: Record<string, string>;
  /** Open, check and plan, change nothing. */
  dryRun?: boolean;
  /** Who restores, for the key histories and the audit trail. */
  principal: string;
}

export interface RestoreReport {
  bundle: string;
  createdAt: string;
  keys: number;
  policies: number;
  /** The old gateway's audit chain head when the bundle was made; the restore's audit record names it. */
  auditHead: BundleHeader['contents']['auditHead'];
  imported: { keyId: string; from: string; onto: string; versions: number }[];
  promoted: { keyId: string; from: string; to: string }[];
  dropped: { keyId: string; connection: string }[];
  lost: { keyId: string; reason: string }[];
  dryRun: boolean;
}

interface Import { graph: SnapshotGraph; binding: SnapshotBinding; onto: Connection; materials: Material[] }

const IMPORT_CONCURRENCY = 4;

export async function restoreBackup(db: Db, connections: Connections, text: string, options: RestoreOptions): Promise<RestoreReport> {
  const onto = targets(connections, options.onto ?? {});
  const { header, content } = await openBundle(connections, text);
  const { tables, materials } = content as BackupContent;
  if (!options.dryRun) {
    needs(await isEmptyGateway(db), 'FAILED_PRECONDITION', 'a restore goes into an empty gateway, and this one has keys or policies: point it at a new database');
  }
  const byBinding = groupBy(materials, (m) => m.bindingId);
  const report: RestoreReport = {
    bundle: header.id, createdAt: header.createdAt, keys: header.contents.keys, policies: header.contents.policies, auditHead: header.contents.auditHead,
    imported: [], promoted: [], dropped: [], lost: [], dryRun: options.dryRun ?? false,
  };
  const imports: Import[] = [];
  const dropped = new Set<string>();
  const graphs = snapshotGraphs(tables);
  for (const graph of graphs) {
    if (graph.key.state === 'DESTROYED') continue;
    const plan = planKey(graph, connections, onto, byBinding);
    // A replica still pending holds nothing: the sync job makes it from the primary once restored.
    const holders = plan.keep.filter((b) => b.ref !== null);
    if (holders.length + plan.imports.length === 0) {
      report.lost.push({ keyId: graph.key.id, reason: `no material in the bundle and no binding on a connection that survives (${graph.bindings.map((b) => b.connection).join(', ')})` });
      continue;
    }
    imports.push(...plan.imports);
    for (const b of plan.drop) { dropped.add(b.id); report.dropped.push({ keyId: graph.key.id, connection: b.connection }); }
    for (const i of plan.imports) report.imported.push({ keyId: graph.key.id, from: i.binding.connection, onto: i.onto.name, versions: i.materials.length });
    if (plan.drop.some((b) => b.role === 'primary')) {
      // One that holds the current version, so that the key encrypts at once; the oldest of those.
      const current = (b: SnapshotBinding) => Number(b.versions.has(graph.key.currentVersion));
      const next = holders.sort((a, b) => current(b) - current(a) || a.createdAt.localeCompare(b.createdAt))[0]!;
      report.promoted.push({ keyId: graph.key.id, from: plan.drop.find((b) => b.role === 'primary')!.connection, to: next.connection });
      next.role = 'primary';
    }
  }
  if (options.dryRun) return report;

  // Every import runs to its end, so that a failed one leaves no other's material behind.
  const settled = await pMap(imports, (i) => importBinding(i).then((m) => ({ m }), (err: unknown) => ({ err })), { concurrency: IMPORT_CONCURRENCY });
  const made = settled.flatMap((r) => ('m' in r ? [r.m] : []));
  try {
    const failed = settled.find((r) => 'err' in r);
    if (failed) throw failed.err;
    rewriteTables(tables, graphs, made, dropped, header.id, options.principal);
    await db.transaction((tx) => writeSnapshot(tx, tables));
  } catch (err) {
    await Promise.allSettled(made.map(destroyImported));
    throw err;
  }
  await auditOperatorAction(db, options.principal, 'backup restore', {
    backup: header.id, backupCreatedAt: header.createdAt, keys: String(report.keys),
    ...(header.contents.auditHead && { previousAuditSeq: String(header.contents.auditHead.seq), previousAuditHash: header.contents.auditHead.hash }),
  });
  return report;
}

function targets(connections: Connections, onto: Record<string, string>): Map<string, Connection> {
  return new Map(Object.entries(onto).map(([from, to]) => {
    needs(from !== to, 'INVALID_ARGUMENT', `--onto ${from}=${to}: a connection cannot be restored onto itself`, { field: 'onto' });
    const c = connections.get(to);
    needs(isImporter(c.provider), 'INVALID_ARGUMENT', `connection "${to}" (${c.provider.kind}) cannot import key material`, { field: 'onto' });
    return [from, c];
  }));
}

function planKey(graph: SnapshotGraph, connections: Connections, onto: Map<string, Connection>, materials: Map<string, Material[]>) {
  const keep: SnapshotBinding[] = [];
  const drop: SnapshotBinding[] = [];
  const imports: Import[] = [];
  for (const b of graph.bindings) {
    const here = connections.find(b.connection);
    const survives = b.provider !== 'local' && !onto.has(b.connection) && here !== undefined;
    if (survives) { keep.push(b); continue; }
    const target = onto.get(b.connection) ?? (here && isImporter(here.provider) ? here : undefined);
    const mats = materials.get(b.id);
    if (target && mats) imports.push({ graph, binding: b, onto: target, materials: mats.sort((x, y) => x.version - y.version) });
    else drop.push(b);
  }
  return { keep, drop, imports };
}

interface Imported { binding: SnapshotBinding; onto: Connection; ref: string; versions: Map<number, string> }

const destroyImported = (m: Imported) => m.onto.call('destroyKey', (p) => p.destroyKey({ ref: m.ref, versionRefs: [...m.versions.values()] }));

/** A binding's versions imported in order; if one fails, those before it are destroyed again. */
async function importBinding(i: Import): Promise<Imported> {
  const { spec, usage, extractable, id } = i.graph.key;
  let ref: string | undefined;
  const versions = new Map<number, string>();
  for (const m of i.materials) {
    const material = Buffer.from(m.material, 'base64');
    try {
      const held = heldMaterial(spec, material);
      const created = await i.onto.call('importKey', (p) => withCapability(p, isImporter, 'import').importKey({
        spec, usage, exportable: extractable, keyId: id, signingAlgorithm: i.graph.key.signingAlgorithm ?? undefined, ref, ...held,
      }));
      ref = created.ref;
      versions.set(m.version, created.versionRef);
    } catch (err) {
      if (ref) await destroyImported({ binding: i.binding, onto: i.onto, ref, versions }).catch(() => {});
      throw err;
    } finally {
      material.fill(0);
    }
  }
  return { binding: i.binding, onto: i.onto, ref: ref!, versions };
}

/** The bundle's rows as they go back: bindings moved, dropped or promoted, keys pointing at their primary, a history event each. */
function rewriteTables(tables: BackupContent['tables'], graphs: SnapshotGraph[], made: Imported[], dropped: Set<string>, backup: string, principal: string): void {
  const moved = new Map(made.map((m) => [m.binding.id, m]));
  const roles = new Map(graphs.flatMap((g) => g.bindings.map((b) => [b.id, b.role] as const)));
  tables.key_bindings = tables.key_bindings.filter((b) => !dropped.has(b.id as string)).map((b) => {
    const m = moved.get(b.id as string);
    const role = roles.get(b.id as string);
    // A same-material replica promoted to primary is the material's source from now on.
    const sameMaterial = role === 'replica' && b.sameMaterial === true;
    // A moved binding is a new backend key: discovery has not seen it and the sync job has written nothing to it.
    const fresh = { lastSeenAt: null, backendTags: null, appliedState: 'LIVE', appliedTags: null };
    return m ? { ...b, role, sameMaterial, connection: m.onto.name, provider: m.onto.provider.kind, ref: m.ref, ...fresh } : { ...b, role, sameMaterial };
  });
  tables.binding_versions = [
    ...tables.binding_versions.filter((v) => !dropped.has(v.bindingId as string) && !moved.has(v.bindingId as string)),
    ...made.flatMap((m) => [...m.versions].map(([version, versionRef]) => ({ bindingId: m.binding.id, version, versionRef }))),
  ];
  const primaries = new Map(tables.key_bindings.filter((b) => b.role === 'primary').map((b) => [b.keyId as string, b]));
  tables.keys = tables.keys.map((k) => {
    const p = primaries.get(k.id as string);
    return p ? { ...k, connection: p.connection, provider: p.provider } : k;
  });
  const placed = groupBy(tables.key_bindings, (b) => b.keyId as string);
  const at = new Date().toISOString();
  tables.key_events.push(...graphs.map((g) => ({
    id: newId('evt'), keyId: g.key.id, type: 'RESTORED', fromState: null, toState: null, reason: null, actor: principal, requestId: null, at,
    detail: { backup, bindings: (placed.get(g.key.id) ?? []).map((b) => ({ connection: b.connection, role: b.role })) },
  })));
}
