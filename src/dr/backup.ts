// Making a backup: the inventory, policies and envelope repairs, the audit chain's head, and the
// material of every exportable key, sealed into a bundle (bundle.ts) under backup keys that live
// outside what the bundle carries material from. Keys are read and written a batch at a time, so a
// backup of a million-key inventory holds a batch in memory, not the inventory. Material leaves its
// provider wrapped for a key pair made for this backup alone, and is in the clear only inside the
// bundle's encrypted payload. Non-exportable keys are carried as their bindings: they come back
// from the backends that still hold them, never by extracting material.
import { newKeyPairSync } from '../crypto/keypair.ts';
import pMap from 'p-map';
import type { Db } from '../db/client.ts';
import { auditOperatorAction } from '../audit/operator.ts';
import { backupStart, readKeyLines, readPolicyLines, readRepairLines, type KeyLine } from '../db/queries/backup.ts';
import { heldVersion, primaryBinding } from '../db/queries/keys.ts';
import { unwrapForImporter } from '../crypto/keywrap.ts';
import { KmsError, needs } from '../errors.ts';
import { newId } from '../ids.ts';
import { lifecycleRefusal } from '../keys/lifecycle.ts';
import { specInfo } from '../keys/specs.ts';
import type { KeyService } from '../keys/service.ts';
import type { Connections } from '../routing/connection.ts';
import { isExporter, withCapability } from '../../providers/provider.ts';
import { intoFile, writeBundle, type BackupKeyBinding, type BackupKeys, type Sink } from './bundle.ts';
import { aheadByOne, groupBy, keyGraph, type BundleRecord, type Material, type SnapshotBinding, type SnapshotGraph } from './content.ts';

export interface BackupOptions {
  /** The key (id or alias/NAME) whose bindings wrap the bundle's payload key: ENCRYPT_DECRYPT. */
  encryptionKey: string;
  /** The key that signs the bundle: SIGN_VERIFY. */
  signingKey: string;
  /** Who makes it, for the audit trail. */
  principal: string;
  progress?: (done: { keys: number; of: number; materials: number }) => void;
}

/** A backup whose keys are checked: `write` streams its bundle. */
export interface PreparedBackup { id: string; write: (sink: Sink) => Promise<BackupReport> }

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
const KEY_BATCH = 1_000;
const REPAIR_PAGE = 5_000;

/**
 * Checks the backup keys against what the backup will carry, so that a refusal comes before the
 * first byte of the bundle; the bundle is made as `write` is called.
 */
export async function prepareBackup(db: Db, connections: Connections, keyService: Pick<KeyService, 'find'>, options: BackupOptions): Promise<PreparedBackup> {
  const id = newId('bak');
  const now = new Date();
  const exporters = connections.all().filter((c) => isExporter(c.provider)).map((c) => c.name);
  const start = await backupStart(db, exporters);
  const materialSources = new Set(start.materialSources);
  const keys = await backupKeys(keyService, options, materialSources, now);
  const importer = newKeyPairSync({ type: 'rsa', modulusLength: 3072 });
  const counted = { keys: 0, policies: 0, materials: 0 };
  const notCarried: BackupReport['notCarried'] = [];

  /** The material of a batch's exportable keys, version by version, by key, from the connections the backup keys were checked against. */
  const exportBatch = async (graphs: SnapshotGraph[]): Promise<Map<string, Material[]>> => {
    const jobs = graphs.flatMap((graph) => {
      const binding = exportSource(graph, connections, materialSources);
      return binding ? [...binding.versions].map(([version, versionRef]) => ({ graph, binding, version, versionRef })) : [];
    });
    const exported = await pMap(jobs, async (j) => {
      const wrapped = await connections.get(j.binding.connection).call('exportKey', (p) =>
        withCapability(p, isExporter, 'export').exportKey({ ref: j.binding.ref, versionRef: j.versionRef, spec: j.graph.key.spec, scheme: SCHEME, wrappingKey: importer.spki }));
      const material = unwrapForImporter(importer.privateKey, SCHEME, wrapped);
      return { keyId: j.graph.key.id, bindingId: j.binding.id, version: j.version, material: material.toString('base64') };
    }, { concurrency: EXPORT_CONCURRENCY });
    return new Map([...groupBy(exported, (e) => e.keyId)].map(([keyId, list]) => [keyId, list.map(({ bindingId, version, material }) => ({ bindingId, version, material }))]));
  };

  async function* lines(): AsyncIterable<string> {
    const keyBatches = pages((after) => readKeyLines(db, after, start.startedAt, KEY_BATCH), (k) => k.id, KEY_BATCH);
    for await (const batch of aheadByOne(keyBatches)) {
      // Only exportable keys' records are opened here: to read their material into them.
      const exportable = batch.filter((k) => k.exportable && !k.destroyed).map((k) => JSON.parse(k.line) as Extract<BundleRecord, { type: 'key' }>);
      const materials = await exportBatch(exportable.map((r) => keyGraph(r.rows)));
      const opened = new Map(exportable.map((r) => [r.rows.key.id as string, r]));
      for (const k of batch) {
        const own = materials.get(k.id) ?? [];
        const reason = notCarriedReason(k, own.length > 0);
        if (reason) notCarried.push({ keyId: k.id, reason });
        counted.keys++;
        counted.materials += own.length;
        yield own.length === 0 ? k.line : JSON.stringify({ ...opened.get(k.id)!, materials: own });
      }
      options.progress?.({ keys: counted.keys, of: start.keys, materials: counted.materials });
    }
    for await (const page of pages((after) => readRepairLines(db, after, start.startedAt, REPAIR_PAGE), (r) => r.messageId, REPAIR_PAGE)) {
      for (const r of page) yield r.line;
    }
    const policies = await readPolicyLines(db);
    counted.policies = new Set(policies.map((p) => (JSON.parse(p) as { row: { id: string } }).row.id)).size;
    yield* policies;
  }

  return {
    id,
    async write(sink) {
      await writeBundle(connections, keys, { id, createdAt: now.toISOString() }, lines(), () => ({ ...counted, auditHead: start.auditHead }), sink);
      await auditOperatorAction(db, options.principal, 'backup create', {
        backup: id, keys: String(counted.keys), materials: String(counted.materials), encryptionKey: keys.encryption.keyId, signingKey: keys.signing.keyId,
      });
      return { id, ...counted, notCarried };
    },
  };
}

/** Pages of `size` read after the place of the previous page's last row, until one comes short. */
async function* pages<T>(read: (after?: string) => Promise<T[]>, placeOf: (row: T) => string, size: number): AsyncIterable<T[]> {
  for (let after: string | undefined; ;) {
    const page = await read(after);
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = placeOf(page.at(-1)!);
  }
}

/** A backup into the file `out`, which appears whole or not at all. */
export async function backupToFile(db: Db, connections: Connections, keyService: Pick<KeyService, 'find'>, options: BackupOptions & { out: string }): Promise<BackupReport> {
  const backup = await prepareBackup(db, connections, keyService, options);
  return intoFile(options.out, backup.write);
}

/**
 * The binding an exportable key's material is read from: the primary if it can export, else the
 * oldest made replica that can (bindings come in that order), as backupStart chose; none if that is
 * a connection the backup keys' placement was not checked against (the key came during the backup).
 */
function exportSource(graph: SnapshotGraph, connections: Connections, checked: Set<string>) {
  const source = graph.bindings.find((b): b is SnapshotBinding & { ref: string } => {
    const c = b.ref !== null && connections.find(b.connection);
    return !!c && isExporter(c.provider);
  });
  return source && checked.has(source.connection) ? source : undefined;
}

/**
 * The backup keys, checked: usable now, and held somewhere a lost database or a lost material
 * source does not take with it. The local keystore lives in the database being backed up, and a
 * connection the bundle carries material from may be the very thing lost.
 */
async function backupKeys(keyService: Pick<KeyService, 'find'>, options: BackupOptions, materialSources: Set<string>, now: Date): Promise<BackupKeys> {
  const enc = await keyService.find(options.encryptionKey);
  const sig = await keyService.find(options.signingKey);
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

/** Why a key cannot come back from the bundle once the database is gone, if it cannot: no material in it and no binding outside the local keystore. */
function notCarriedReason(k: KeyLine, carried: boolean): string | undefined {
  if (k.destroyed || !k.managed || carried || !k.localOnly) return undefined;
  return k.exportable ? 'exportable, but no configured connection of it can export' : 'not exportable and only in the local keystore, which is in the database: add a replica on another connection';
}
