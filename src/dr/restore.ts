// Restoring a bundle into an empty gateway. Keys come back with their ids, versions and binding
// ids, so envelopes made before keep opening. Where a key lives is re-decided binding by binding:
//   - a binding on a backend that survives (a cloud, an HSM still configured) is kept as it was;
//   - a binding whose backend is gone (the local keystore, which lived in the lost database, or a
//     connection mapped away with `onto`) gets the key's material back from the bundle, imported
//     into the local keystore or the `onto` connection (an HSM, say), when the key was exportable;
//   - otherwise it is dropped, and a surviving replica becomes primary if the primary was dropped.
// A key left with no binding is reported lost and kept as it was, in case its backend returns.
// The bundle is read a batch of keys at a time, twice: first to plan and import, then to write every
// row in one transaction (the local keystore writes to the database as it imports, which an open
// transaction on the embedded one would block). A failed restore, an import or a write, leaves the
// database empty and destroys the material imported for it.
import pMap from 'p-map';
import type { Db } from '../db/client.ts';
import { auditOperatorAction } from '../audit/operator.ts';
import { isEmptyGateway, writeKeyRows, writePolicies, writeRepairs, type JsonRow, type KeyRows } from '../db/queries/backup.ts';
import { heldMaterial } from '../crypto/material.ts';
import { needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Connection, Connections } from '../routing/connection.ts';
import { isImporter, withCapability } from '../../providers/provider.ts';
import { openBundle, type BundleHeader } from './bundle.ts';
import { aheadByOne, groupBy, keyGraph, type BundleRecord, type Material, type SnapshotBinding, type SnapshotGraph } from './content.ts';

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
/** A key record and what the restore does with it: bindings dropped, material to import. */
interface KeyPlan { rows: KeyRows; graph: SnapshotGraph; dropped: Set<string>; imports: Import[] }

const IMPORT_CONCURRENCY = 4;
/** Records planned, imported and written at once. */
const RESTORE_BATCH = 500;

export async function restoreBackup(db: Db, connections: Connections, path: string, options: RestoreOptions): Promise<RestoreReport> {
  const onto = targets(connections, options.onto ?? {});
  const bundle = await openBundle(connections, path);
  const { header } = bundle;
  if (!options.dryRun) {
    needs(await isEmptyGateway(db), 'FAILED_PRECONDITION', 'a restore goes into an empty gateway, and this one has keys or policies: point it at a new database');
  }
  const report: RestoreReport = {
    bundle: header.id, createdAt: header.createdAt, keys: header.contents.keys, policies: header.contents.policies, auditHead: header.contents.auditHead,
    imported: [], promoted: [], dropped: [], lost: [], dryRun: options.dryRun ?? false,
  };
  const made: Imported[] = [];
  try {
    for await (const batch of aheadByOne(batches(bundle.lines(), RESTORE_BATCH))) {
      const plans = batch.flatMap((r) => (r.type === 'key' ? [planKey(r.rows, r.materials, connections, onto, report)] : []));
      if (options.dryRun) continue;
      // Every import of the batch runs to its end, so that a failed one leaves no other's material behind.
      const settled = await pMap(plans.flatMap((p) => p.imports), (i) => importBinding(i).then((m) => ({ m }), (err: unknown) => ({ err })), { concurrency: IMPORT_CONCURRENCY });
      made.push(...settled.flatMap((r) => ('m' in r ? [r.m] : [])));
      const failed = settled.find((r) => 'err' in r);
      if (failed) throw failed.err;
    }
    if (options.dryRun) return report;
    const moved = new Map(made.map((m) => [m.binding.id, m]));
    const at = new Date().toISOString();
    await db.transaction(async (tx) => {
      for await (const batch of aheadByOne(batches(bundle.lines(), RESTORE_BATCH))) {
        // The same plans again (the report has them already).
        const plans = batch.flatMap((r) => (r.type === 'key' ? [planKey(r.rows, r.materials, connections, onto)] : []));
        await writeKeyRows(tx, plans.map((p) => rewriteKey(p, moved, header.id, options.principal, at)));
        await writeRepairs(tx, rowsOf(batch, 'repair'));
        await writePolicies(tx, rowsOf(batch, 'policy'));
      }
    });
  } catch (err) {
    await Promise.allSettled(made.map(destroyImported));
    throw err;
  } finally {
    bundle.close();
  }
  await auditOperatorAction(db, options.principal, 'backup restore', {
    backup: header.id, backupCreatedAt: header.createdAt, keys: String(report.keys),
    ...(header.contents.auditHead && { previousAuditSeq: String(header.contents.auditHead.seq), previousAuditHash: header.contents.auditHead.hash }),
  });
  return report;
}

/** The bundle's records, `size` at a time. */
async function* batches(lines: AsyncIterable<string>, size: number): AsyncIterable<BundleRecord[]> {
  let batch: BundleRecord[] = [];
  for await (const line of lines) {
    batch.push(JSON.parse(line) as BundleRecord);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const rowsOf = (batch: BundleRecord[], type: 'repair' | 'policy'): JsonRow[] => batch.flatMap((r) => (r.type === type ? [r.row] : []));

function targets(connections: Connections, onto: Record<string, string>): Map<string, Connection> {
  return new Map(Object.entries(onto).map(([from, to]) => {
    needs(from !== to, 'INVALID_ARGUMENT', `--onto ${from}=${to}: a connection cannot be restored onto itself`, { field: 'onto' });
    const c = connections.get(to);
    needs(isImporter(c.provider), 'INVALID_ARGUMENT', `connection "${to}" (${c.provider.kind}) cannot import key material`, { field: 'onto' });
    return [from, c];
  }));
}

/**
 * What happens to a key's bindings, entered in the report if one is given: kept, dropped, or their material
 * imported elsewhere; the primary handed to a surviving binding if it is dropped. A key with
 * nothing left is reported lost and kept as it was, in case its backend returns.
 */
function planKey(rows: KeyRows, materials: Material[], connections: Connections, onto: Map<string, Connection>, report?: RestoreReport): KeyPlan {
  const graph = keyGraph(rows);
  const plan: KeyPlan = { rows, graph, dropped: new Set(), imports: [] };
  if (graph.key.state === 'DESTROYED') return plan;
  const byBinding = groupBy(materials, (m) => m.bindingId);
  const keep: SnapshotBinding[] = [];
  const drop: SnapshotBinding[] = [];
  const imports: Import[] = [];
  for (const b of graph.bindings) {
    const here = connections.find(b.connection);
    const survives = b.provider !== 'local' && !onto.has(b.connection) && here !== undefined;
    if (survives) { keep.push(b); continue; }
    const target = onto.get(b.connection) ?? (here && isImporter(here.provider) ? here : undefined);
    const mats = byBinding.get(b.id);
    if (target && mats) imports.push({ graph, binding: b, onto: target, materials: mats.sort((x, y) => x.version - y.version) });
    else drop.push(b);
  }
  // A replica still pending holds nothing: the sync job makes it from the primary once restored.
  const holders = keep.filter((b) => b.ref !== null);
  if (holders.length + imports.length === 0) {
    report?.lost.push({ keyId: graph.key.id, reason: `no material in the bundle and no binding on a connection that survives (${graph.bindings.map((b) => b.connection).join(', ')})` });
    return plan;
  }
  plan.imports = imports;
  for (const b of drop) { plan.dropped.add(b.id); report?.dropped.push({ keyId: graph.key.id, connection: b.connection }); }
  for (const i of imports) report?.imported.push({ keyId: graph.key.id, from: i.binding.connection, onto: i.onto.name, versions: i.materials.length });
  if (drop.some((b) => b.role === 'primary')) {
    // One that holds the current version, so that the key encrypts at once; the oldest of those.
    const current = (b: SnapshotBinding) => Number(b.versions.has(graph.key.currentVersion));
    const next = holders.sort((a, b) => current(b) - current(a) || a.createdAt.localeCompare(b.createdAt))[0]!;
    report?.promoted.push({ keyId: graph.key.id, from: drop.find((b) => b.role === 'primary')!.connection, to: next.connection });
    next.role = 'primary';
  }
  return plan;
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

/** A key's rows as they go back: bindings moved, dropped or promoted, the key pointing at its primary, a history event. */
function rewriteKey(plan: KeyPlan, moved: Map<string, Imported>, backup: string, principal: string, at: string): KeyRows {
  const { rows, graph, dropped } = plan;
  const roles = new Map(graph.bindings.map((b) => [b.id, b.role] as const));
  const bindings = rows.bindings.filter((b) => !dropped.has(b.id as string)).map((b): JsonRow => {
    const m = moved.get(b.id as string);
    const role = roles.get(b.id as string);
    // A same-material replica promoted to primary is the material's source from now on.
    const sameMaterial = role === 'replica' && b.same_material === true;
    // A moved binding is a new backend key: discovery has not seen it and the sync job has written nothing to it.
    const fresh = { last_seen_at: null, backend_tags: null, applied_state: 'LIVE', applied_tags: null };
    return m ? { ...b, role, same_material: sameMaterial, connection: m.onto.name, provider: m.onto.provider.kind, ref: m.ref, ...fresh } : { ...b, role, same_material: sameMaterial };
  });
  const own = bindings.map((b) => moved.get(b.id as string)).filter((m) => m !== undefined);
  const bindingVersions = [
    ...rows.bindingVersions.filter((v) => !dropped.has(v.binding_id as string) && !moved.has(v.binding_id as string)),
    ...own.flatMap((m) => [...m.versions].map(([version, versionRef]) => ({ binding_id: m.binding.id, version, version_ref: versionRef }))),
  ];
  const primary = bindings.find((b) => b.role === 'primary');
  return {
    ...rows,
    key: primary ? { ...rows.key, connection: primary.connection, provider: primary.provider } : rows.key,
    bindings,
    bindingVersions,
    events: [...rows.events, {
      id: newId('evt'), key_id: graph.key.id, type: 'RESTORED', from_state: null, to_state: null, reason: null, actor: principal, request_id: null, at,
      detail: { backup, bindings: bindings.map((b) => ({ connection: b.connection, role: b.role })) },
    }],
  };
}
