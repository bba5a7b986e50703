// Making a backup: the inventory, policies and envelope repairs as of one database snapshot, the
// audit chain's head, and the material of every exportable key, sealed into a bundle (bundle.ts)
// under backup keys that live outside what the bundle carries material from. Material leaves its
// provider wrapped for a key pair made for this backup alone, and is in the clear only inside the
// bundle's encrypted payload. Non-exportable keys are carried as their bindings: they come back
// from the backends that still hold them, never by extracting material.
import { newKeyPairSync } from '../crypto/keypair.ts';
import pMap from 'p-map';
import type { Db } from '../db/client.ts';
import { auditOperatorAction } from '../audit/operator.ts';
import { auditHead } from '../db/queries/audit.ts';
import { readSnapshot } from '../db/queries/backup.ts';
import { heldVersion, primaryBinding } from '../db/queries/keys.ts';
import { unwrapForImporter } from '../crypto/keywrap.ts';
import { KmsError, needs } from '../errors.ts';
import { newId } from '../ids.ts';
import { lifecycleRefusal } from '../keys/lifecycle.ts';
import { specInfo } from '../keys/specs.ts';
import type { KeyCache } from '../keys/cache.ts';
import type { Connections } from '../routing/connection.ts';
import { isExporter, withCapability } from '../../providers/provider.ts';
import { sealBundle, type BackupKeyBinding, type BackupKeys } from './bundle.ts';
import { snapshotGraphs, type BackupContent, type Material, type SnapshotBinding, type SnapshotGraph } from './content.ts';

export interface BackupOptions {
  /** The key (id or alias/NAME) whose bindings wrap the bundle's payload key: ENCRYPT_DECRYPT. */
  encryptionKey: string;
  /** The key that signs the bundle: SIGN_VERIFY. */
  signingKey: string;
  /** Who makes it, for the audit trail. */
  principal: string;
  progress?: (exported: number, total: number) => void;
}

export interface BackupReport {
  id: string;
  keys: number;
  policies: number;
  materials: number;
  /** Keys the bundle cannot bring back once the database is gone, with why. */
  notCarried: { keyId: string; reason: string }[];
}

/**
 * How exported material is wrapped on its way into the bundle: the scheme every exporter has
 * (SoftHSM2 does OAEP with SHA-1 only). OAEP's security does not rest on SHA-1's collision resistance.
 */
const SCHEME = 'RSA_AES_KEY_WRAP_SHA_1';
const EXPORT_CONCURRENCY = 8;

export async function createBackup(db: Db, connections: Connections, cache: KeyCache, options: BackupOptions): Promise<{ bundle: string; report: BackupReport }> {
  const id = newId('bak');
  const now = new Date();
  const snapshot = await readSnapshot(db);
  const graphs = snapshotGraphs(snapshot);
  const sources = graphs.filter((g) => g.key.extractable && g.key.state !== 'DESTROYED').flatMap((g) => exportSource(g, connections));
  const keys = await backupKeys(cache, options, new Set(sources.map((s) => s.binding.connection)), now);

  const importer = newKeyPairSync({ type: 'rsa', modulusLength: 3072 });
  const wrappingKey = importer.spki;
  const jobs = sources.flatMap((s) => [...s.binding.versions].map(([version, versionRef]) => ({ ...s, version, versionRef })));
  let exported = 0;
  const materials: Material[] = await pMap(jobs, async (j) => {
    const wrapped = await connections.get(j.binding.connection).call('exportKey', (p) =>
      withCapability(p, isExporter, 'export').exportKey({ ref: j.binding.ref, versionRef: j.versionRef, spec: j.graph.key.spec, scheme: SCHEME, wrappingKey }));
    const material = unwrapForImporter(importer.privateKey, SCHEME, wrapped);
    options.progress?.(++exported, jobs.length);
    return { keyId: j.graph.key.id, bindingId: j.binding.id, version: j.version, material: material.toString('base64') };
  }, { concurrency: EXPORT_CONCURRENCY });

  const head = await auditHead(db);
  const content: BackupContent = { tables: snapshot, materials };
  const contents = { keys: snapshot.keys.length, policies: new Set(snapshot.policies.map((p) => p.id)).size, materials: materials.length, auditHead: head ?? null };
  const bundle = await sealBundle(connections, keys, { id, createdAt: now.toISOString(), contents }, content);
  await auditOperatorAction(db, options.principal, 'backup create', {
    backup: id, keys: String(contents.keys), materials: String(materials.length), encryptionKey: keys.encryption.keyId, signingKey: keys.signing.keyId,
  });
  return { bundle, report: { id, keys: contents.keys, policies: contents.policies, materials: materials.length, notCarried: notCarried(graphs, new Set(sources.map((s) => s.graph.key.id))) } };
}

/** The binding an exportable key's material is read from: the primary if it can export, else any made one that can. */
function exportSource(graph: SnapshotGraph, connections: Connections) {
  const ordered = [...graph.bindings].sort((a, b) => (a.role === 'primary' ? -1 : b.role === 'primary' ? 1 : 0));
  const binding = ordered.find((b): b is SnapshotBinding & { ref: string } => {
    const c = b.ref !== null && connections.find(b.connection);
    return !!c && isExporter(c.provider);
  });
  return binding ? [{ graph, binding }] : [];
}

/**
 * The backup keys, checked: usable now, and held somewhere a lost database or a lost material
 * source does not take with it. The local keystore lives in the database being backed up, and a
 * connection the bundle carries material from may be the very thing lost.
 */
async function backupKeys(cache: KeyCache, options: BackupOptions, materialSources: Set<string>, now: Date): Promise<BackupKeys> {
  const enc = await cache.fresh(options.encryptionKey);
  const sig = await cache.fresh(options.signingKey);
  needs(enc.key.usage === 'ENCRYPT_DECRYPT', 'INVALID_ARGUMENT', `the encryption key ${enc.key.id} is a ${enc.key.usage} key, not ENCRYPT_DECRYPT`, { field: 'encryptionKey' });
  needs(sig.key.usage === 'SIGN_VERIFY', 'INVALID_ARGUMENT', `the signing key ${sig.key.id} is a ${sig.key.usage} key, not SIGN_VERIFY`, { field: 'signingKey' });
  for (const [g, op] of [[enc, 'ENCRYPT'], [sig, 'SIGN']] as const) {
    const refusal = lifecycleRefusal(g.key, op, now);
    if (refusal) throw new KmsError('FAILED_PRECONDITION', `backup key ${g.key.id}: ${refusal}`);
  }
  const outside = (connection: string, provider: string) => provider !== 'local' && !materialSources.has(connection);
  const version = enc.key.currentVersion;
  const bindings: BackupKeyBinding[] = enc.bindings.flatMap((b) => {
    const held = heldVersion(b, version);
    return held ? [{ connection: b.connection, provider: b.provider, ...held }] : [];
  });
  if (!bindings.some((b) => outside(b.connection, b.provider))) {
    throw new KmsError('FAILED_PRECONDITION', `backup key ${enc.key.id} lives only on ${bindings.map((b) => `"${b.connection}"`).join(', ')}: `
      + 'choose one with a binding outside the local keystore and outside the connections whose material the backup carries', { field: 'encryptionKey' });
  }
  const s = primaryBinding(sig);
  if (!outside(s.connection, s.provider)) {
    throw new KmsError('FAILED_PRECONDITION', `signing key ${sig.key.id} is on "${s.connection}": choose one outside the local keystore and outside the connections whose material the backup carries`, { field: 'signingKey' });
  }
  const algorithm = sig.key.signingAlgorithm ?? specInfo[sig.key.spec].signing[0]!;
  return {
    encryption: { keyId: enc.key.id, version, spec: enc.key.spec, bindings },
    signing: { keyId: sig.key.id, version: sig.key.currentVersion, spec: sig.key.spec, algorithm, connection: s.connection, provider: s.provider, ref: s.ref, versionRef: s.versions.get(sig.key.currentVersion)! },
  };
}

/** Keys with neither material in the bundle nor a binding outside the local keystore. */
function notCarried(graphs: SnapshotGraph[], carried: Set<string>): BackupReport['notCarried'] {
  return graphs.filter((g) => g.key.state !== 'DESTROYED' && g.key.managed && !carried.has(g.key.id) && g.bindings.every((b) => b.provider === 'local'))
    .map((g) => ({ keyId: g.key.id, reason: g.key.extractable ? 'exportable, but no configured connection of it can export' : 'not exportable and only in the local keystore, which is in the database: add a replica on another connection' }));
}
