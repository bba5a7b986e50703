// Key management: create, update, aliases, rotation and lifecycle transitions. Provider calls that
// make material go first, then one transaction writes the change, its history event and the cache
// notification, so a change is either recorded whole or not at all. Changes the backend keys only
// follow (deletion, tags) are recorded first and reach them through the key's sync job, queued in
// the same transaction, so that one connection being down neither blocks nor half-applies them.
import { KmsError, needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { keyUsageOf } from '../db/queries/usage.ts';
import { BY_ID, insertKey, isMade, loadKeyGraphs, listKeyIds, lockKey, notifyKeyChanged, primaryBinding, sortValue, updateKeyGuarded, updateKeyManaged, type After, type KeyFilter, type KeyGraph, type Sort } from '../db/queries/keys.ts';
import { insertBinding, insertVersion, listVersions } from '../db/queries/bindings.ts';
import { queueJob } from '../db/queries/jobs.ts';
import type { JobRow } from '../db/schema/index.ts';
import { canCopy, copyVersion } from '../replicas/copy.ts';
import { SYNC } from '../replicas/sync.ts';
import { tagsText } from '../replicas/backend-state.ts';
import { aliasOwner, deleteAlias, insertAliases } from '../db/queries/aliases.ts';
import { insertEvent, listEvents } from '../db/queries/events.ts';
import type { Connection, Connections } from '../routing/connection.ts';
import { isImporter, isTagger, withCapability, type Capabilities, type CreatedKey, type KeyVersionRef } from '../../providers/provider.ts';
import { ALIAS, type KeyCache } from './cache.ts';
import { deletionWindow, effectiveState, lifecycleRefusal, OBSERVED, stateAfterCancel, transitions, type KeyOperation, type KeyState, type TransitionName } from './lifecycle.ts';
import { MAX_TAGS, systemActor, versionRequest, type Actor, type BroughtMaterial, type CreateKeyInput, type MaterialOpener, type InTransaction, type UpdateKeyInput } from './model.ts';
import type { Access } from '../policy/access.ts';
import type { Governance } from '../governance/governance.ts';
import { specInfo, type KeySpec, type KeyUsage, type SigningAlgorithm } from './specs.ts';

const DAY = 86_400_000;

interface Replica { connection: Connection; sameMaterial: boolean }

/** Queues the key's sync job (or answers the one queued or running), within the caller's transaction when given one. */
/** When a key rotating every `periodDays` is next due, its current version made (or the key activated) at `from`. */
const nextRotation = (periodDays: number | null, from: Date): Date | null => (periodDays ? new Date(from.getTime() + periodDays * DAY) : null);
const queueSync = (db: Db, keyId: string, actor: Actor): Promise<JobRow> => queueJob(db, { id: newId('job'), kind: SYNC, target: keyId, createdBy: actor.identity.principal });

type ChangeEvent = { type: string; fromState?: KeyState; toState?: KeyState; reason?: string; detail: Record<string, unknown> };

/**
 * The algorithm a signing key is pinned to: the caller's choice, else for backends that fix one per
 * key the spec's first (RSASSA-PSS SHA-256 for RSA, the curve's ECDSA for EC); none for the rest.
 */
function pinnedAlgorithm(input: CreateKeyInput, caps: Capabilities): SigningAlgorithm | undefined {
  const usable = specInfo[input.spec].signing.filter((a) => caps.signingAlgorithms.includes(a));
  if (input.signingAlgorithm === undefined) return input.usage === 'SIGN_VERIFY' && caps.signing === 'per-key' ? usable[0] : undefined;
  needs(input.usage === 'SIGN_VERIFY', 'INVALID_ARGUMENT', 'signingAlgorithm is for SIGN_VERIFY keys', { field: 'signingAlgorithm' });
  needs(specInfo[input.spec].signing.includes(input.signingAlgorithm), 'INVALID_ARGUMENT', `algorithm ${input.signingAlgorithm} does not fit key spec ${input.spec}`, { field: 'signingAlgorithm' });
  needs(usable.includes(input.signingAlgorithm), 'INVALID_ARGUMENT', `the connection's backend does not sign with ${input.signingAlgorithm}`, { field: 'signingAlgorithm' });
  return input.signingAlgorithm;
}

/**
 * A rotation's new version on each binding, in binding order, undefined where the binding could not
 * make it: made by the primary (imported from the caller's `material`, if any) and the independent
 * replicas, then copied from the primary's into the same-material replicas. Throws if the primary
 * fails. A replica still pending is left to the sync job that makes it.
 */
async function newVersions(graph: KeyGraph, connections: Connections, material?: BroughtMaterial): Promise<(KeyVersionRef | undefined)[]> {
  const { key } = graph;
  const primary = primaryBinding(graph);
  const own = await Promise.allSettled(graph.bindings.map(async (b) => {
    if (b.sameMaterial || !isMade(b)) return undefined;
    const connection = connections.get(b.connection);
    return material && b === primary
      ? connection.call('importKey', (p) => withCapability(p, isImporter, 'import key material').importKey({ ...versionRequest(key, b), ...material }))
      : connection.call('createVersion', (p) => p.createVersion(versionRequest(key, b)));
  }));
  const made = own[graph.bindings.indexOf(primary)]!;
  if (made.status === 'rejected') throw made.reason;
  const source = { connection: connections.get(primary.connection), ref: primary.ref, versionRef: made.value!.versionRef };
  const copies = await Promise.allSettled(graph.bindings.map(async (b) => (b.sameMaterial && isMade(b) ? copyVersion(key, source, connections.get(b.connection), b.ref, { tags: b.appliedTags ?? {} }) : undefined)));
  return graph.bindings.map((b, i) => {
    const m = b.sameMaterial ? copies[i]! : own[i]!;
    return m.status === 'fulfilled' ? m.value : undefined;
  });
}

export class KeyService {
  constructor(
    private readonly db: Db, private readonly connections: Connections, private readonly cache: KeyCache, private readonly access: Access,
    private readonly governance: Governance,
  ) {}

  async create(actor: Actor, input: CreateKeyInput, inTransaction?: InTransaction): Promise<KeyGraph> {
    needs(specInfo[input.spec].usages.includes(input.usage), 'INVALID_ARGUMENT', `spec ${input.spec} cannot be used for ${input.usage}`, { field: 'usage' });
    const connection = this.connections.get(input.connection ?? this.connections.defaultName);
    const caps = connection.provider.capabilities;
    needs(caps.specs.includes(input.spec), 'INVALID_ARGUMENT', `connection "${connection.name}" (${connection.provider.kind}) does not support spec ${input.spec}`, { field: 'spec' });
    needs(caps.usages.includes(input.usage), 'INVALID_ARGUMENT', `connection "${connection.name}" (${connection.provider.kind}) does not support usage ${input.usage}`, { field: 'usage' });
    needs(!input.material || isImporter(connection.provider), 'INVALID_ARGUMENT', `connection "${connection.name}" (${connection.provider.kind}) cannot import key material`, { field: 'connection' });
    const origin = input.material ? 'IMPORTED' : 'GATEWAY';
    this.access.checkNewKey(actor, {
      type: 'Key', id: 'new', tags: input.tags ?? {},
      attrs: { spec: input.spec, usage: input.usage, state: 'PRE_ACTIVE', origin, connection: connection.name, provider: connection.provider.kind, exportable: input.exportable ?? false },
    });
    const signingAlgorithm = pinnedAlgorithm(input, caps);
    const replicas = this.replicaConnections({ ...input, signingAlgorithm }, connection);
    const aliases = [...new Set(input.aliases ?? [])];
    for (const alias of aliases) await this.assertAliasFree(alias, 'aliases');
    this.governance.refuse(await this.governance.check({
      spec: input.spec, usage: input.usage, tags: input.tags ?? {}, aliases, description: input.description ?? '', rotationPeriodDays: input.rotationPeriodDays ?? null,
      placements: [this.governance.placement(connection.name, 'primary'), ...replicas.map((r) => this.governance.placement(r.connection.name, 'replica'))],
    }));
    const now = new Date();
    // Crypto-period dates in their order: activation ≤ protect-stop ≤ deactivation.
    const activation = input.activationDate ?? now;
    needs(!input.protectStopDate || input.protectStopDate > activation, 'INVALID_ARGUMENT', 'protectStopDate must come after the activation date', { field: 'protectStopDate' });
    needs(!input.deactivationDate || input.deactivationDate > activation, 'INVALID_ARGUMENT', 'deactivationDate must come after the activation date', { field: 'deactivationDate' });
    needs(!input.deactivationDate || !input.protectStopDate || input.deactivationDate >= input.protectStopDate, 'INVALID_ARGUMENT', 'deactivationDate must not come before protectStopDate', { field: 'deactivationDate' });
    const state: KeyState = input.activationDate && input.activationDate > now ? 'PRE_ACTIVE' : 'ACTIVE';
    const id = newId('key');
    const request = { spec: input.spec, usage: input.usage, exportable: input.exportable ?? false, keyId: id, signingAlgorithm };
    const { material } = input;
    const created = material
      ? await material(input.spec, (m) => connection.call('importKey', (p) => withCapability(p, isImporter, 'import key material').importKey({ ...request, ...m })))
      : await connection.call('createKey', (p) => p.createKey(request));
    const placed: { connection: Connection; created: CreatedKey; role: 'primary' | 'replica'; sameMaterial: boolean; bindingId: string }[] = [
      { connection, created, role: 'primary', sameMaterial: false, bindingId: newId('bnd') },
    ];
    try {
      const copied = { id, spec: input.spec, usage: input.usage, extractable: request.exportable, signingAlgorithm };
      const made = await Promise.allSettled(replicas.map((r) => (r.sameMaterial
        ? copyVersion(copied, { connection, ref: created.ref, versionRef: created.versionRef }, r.connection)
        : r.connection.call('createKey', (p) => p.createKey({ ...request, exportable: false })))));
      made.forEach((m, i) => {
        if (m.status === 'fulfilled') placed.push({ connection: replicas[i]!.connection, created: m.value, role: 'replica', sameMaterial: replicas[i]!.sameMaterial, bindingId: newId('bnd') });
      });
      const failed = made.find((m) => m.status === 'rejected');
      if (failed) throw failed.reason;
      await this.db.transaction(async (tx) => {
        await insertKey(tx, {
          id, spec: input.spec, usage: input.usage, signingAlgorithm: signingAlgorithm ?? null, state, origin, currentVersion: 1,
          connection: connection.name, provider: connection.provider.kind,
          description: input.description ?? '', tags: input.tags ?? {},
          rotationPeriodDays: input.rotationPeriodDays ?? null,
          // A key not active yet has no rotation due: its crypto-period starts when it is activated.
          nextRotationAt: state === 'ACTIVE' ? nextRotation(input.rotationPeriodDays ?? null, now) : null,
          ...created.attributes,
          activationDate: activation,
          protectStopDate: input.protectStopDate ?? null,
          deactivationDate: input.deactivationDate ?? null,
        });
        for (const b of placed) {
          await insertBinding(tx, { id: b.bindingId, keyId: id, connection: b.connection.name, provider: b.connection.provider.kind, ref: b.created.ref, role: b.role, sameMaterial: b.sameMaterial });
        }
        await insertVersion(tx, id, 1, placed.map((b) => ({ bindingId: b.bindingId, versionRef: b.created.versionRef })));
        await insertAliases(tx, id, aliases);
        if (Object.keys(input.tags ?? {}).length > 0 && this.tagged(placed.map((b) => b.connection.name))) {
          await queueSync(tx, id, actor);
        }
        await insertEvent(tx, { keyId: id, type: 'CREATED', toState: state, actor: actor.identity.principal, requestId: actor.requestId, detail: { spec: input.spec, usage: input.usage, connection: connection.name, replicas: replicas.map((r) => r.connection.name), ...(material && { origin }) } });
        await inTransaction?.(tx, id);
      });
    } catch (err) {
      // The key was not recorded: the provider keys made for it must not linger unreferenced.
      await Promise.all(placed.map((b) => b.connection.call('destroyKey', (p) => p.destroyKey({ ref: b.created.ref, versionRefs: [b.created.versionRef] })).catch(() => {})));
      if (isUniqueViolation(err)) throw new KmsError('ALREADY_EXISTS', 'an alias of the request is already taken', { field: 'aliases', cause: err });
      throw err;
    }
    Object.assign(actor.record, { keyId: id, keyVersion: 1, connection: connection.name });
    return this.cache.fresh(id);
  }

  /** The replica connections of a new key: distinct, not the primary's, each able to hold the key. */
  private replicaConnections(input: CreateKeyInput, primary: Connection): Replica[] {
    const names = input.replicas ?? [];
    needs(new Set(names).size === names.length && !names.includes(primary.name), 'INVALID_ARGUMENT', 'replicas must be distinct connections other than the primary\'s', { field: 'replicas' });
    return names.map((name) => this.replica({ ...input, extractable: input.exportable ?? false }, primary, name, 'replicas'));
  }

  /**
   * A replica of the key on connection `name`. It holds the key's own material where it can (an
   * exportable key, a primary that exports, a replica that imports); otherwise it is an independent
   * key, which only envelopes can use. `field` names the request's field at fault.
   */
  private replica(key: { spec: KeySpec; usage: KeyUsage; extractable: boolean; signingAlgorithm?: SigningAlgorithm | null }, primary: Connection, name: string, field: string): Replica {
    const c = this.connections.get(name);
    const caps = c.provider.capabilities;
    needs(caps.specs.includes(key.spec) && caps.usages.includes(key.usage), 'INVALID_ARGUMENT',
      `connection "${name}" (${c.provider.kind}) cannot hold a ${key.spec} ${key.usage} key`, { field });
    // A backend that fixes a key's algorithm (Cloud KMS) imports it with the one the key is pinned to.
    needs(key.usage !== 'SIGN_VERIFY' || (key.signingAlgorithm ? caps.signingAlgorithms.includes(key.signingAlgorithm) : caps.signing === 'any'), 'INVALID_ARGUMENT',
      key.signingAlgorithm ? `connection "${name}" (${c.provider.kind}) does not sign with ${key.signingAlgorithm}`
        : `connection "${name}" (${c.provider.kind}) fixes a key's signing algorithm: pin the key to one (signingAlgorithm)`, { field });
    const sameMaterial = canCopy(key, primary.provider, c.provider);
    needs(sameMaterial || key.usage === 'ENCRYPT_DECRYPT', 'INVALID_ARGUMENT',
      `a ${key.usage} key's replica holds the key's own material, imported from the primary: the key must be exportable, on a connection that exports (`
      + `"${primary.name}" is ${primary.provider.kind}), with replicas on connections that import ("${name}" is ${c.provider.kind})`, { field });
    return { connection: c, sameMaterial };
  }

  /**
   * Adds a replica to an existing key: records it pending and queues the key's sync job, which makes
   * it (src/replicas/sync.ts) and answers here. A same-material replica gets every version, copied
   * from the primary one per step, so it serves all the key's data. An independent one holds the
   * current version only: envelopes sealed from now on carry its wrap, older ones when re-encrypted.
   * Copying many versions takes a while, and a job survives a crash without leaving a second key.
   */
  async addReplica(actor: Actor, ref: string, name: string): Promise<JobRow> {
    const graph = await this.settled(actor, ref);
    const { key } = graph;
    // It makes key material, as a rotation does.
    needs(key.state === 'ACTIVE', 'FAILED_PRECONDITION', `replicas are made for ACTIVE keys; key "${ref}" is ${key.state}`);
    needs(!graph.bindings.some((b) => b.connection === name), 'ALREADY_EXISTS', `key "${ref}" already has a binding on connection "${name}"`, { field: 'connection' });
    const primary = primaryBinding(graph);
    const from = this.connections.get(primary.connection);
    const replica = this.replica(key, from, name, 'connection');
    const facts = this.governance.facts(graph);
    this.governance.refuse((await this.governance.check({ ...facts, placements: [...facts.placements, this.governance.placement(name, 'replica')] }, ['placement']))
      .map((v) => ({ ...v, field: 'connection' })));
    let job: JobRow | undefined;
    try {
      await this.change(actor, key.id, { type: 'REPLICA_ADDED', detail: { connection: name, sameMaterial: replica.sameMaterial } }, async (tx) => {
        await insertBinding(tx, { id: newId('bnd'), keyId: key.id, connection: name, provider: replica.connection.provider.kind, ref: null, role: 'replica', sameMaterial: replica.sameMaterial });
        job = await queueSync(tx, key.id, actor);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new KmsError('ALREADY_EXISTS', `key "${ref}" already has a binding on connection "${name}"`, { field: 'connection', cause: err });
      throw err;
    }
    Object.assign(actor.record, { keyId: key.id, connection: name, detail: { job: job!.id } });
    return job!;
  }

  /** The key a reference names, for operations decided on the gateway rather than on the key (grants). */
  async find(ref: string): Promise<KeyGraph> {
    return this.cache.fresh(ref);
  }

  /** The key, as the database has it now, when the actor may see it. */
  async get(actor: Actor, ref: string): Promise<KeyGraph> {
    const graph = await this.cache.fresh(ref);
    this.access.checkKey(actor, graph);
    return graph;
  }

  /** A page of keys; `next` is where the following page starts, absent on the last one. */
  async list(filter: KeyFilter, limit: number, sort: Sort = BY_ID, after?: After): Promise<{ keys: KeyGraph[]; next?: After }> {
    const ids = await listKeyIds(this.db, filter, sort, after, limit + 1);
    const page = await loadKeyGraphs(this.db, ids.slice(0, limit));
    const last = page.at(-1)?.key;
    return { keys: page, next: ids.length > limit && last ? { id: last.id, value: sortValue(last, sort.field) } : undefined };
  }

  async update(actor: Actor, ref: string, input: UpdateKeyInput): Promise<KeyGraph> {
    const graph = await this.current(actor, ref, 'UPDATE');
    const facts = this.governance.facts(graph);
    // Its before and after are known once the stored key is read, under the lock.
    const event: ChangeEvent = { type: 'UPDATED', detail: {} };
    await this.change(actor, graph.key.id, event, async (tx) => {
      // The tags merge into those stored, under the key's row lock: concurrent updates each merge into
      // the one before (from the cached key, every update but the last lost its tags).
      const key = await lockKey(tx, graph.key.id);
      needs(key.state === graph.key.state, 'FAILED_PRECONDITION', `key "${key.id}" changed state concurrently; retry`);
      const tags = { ...key.tags };
      const added: Record<string, string> = {};
      for (const [k, v] of Object.entries(input.tags ?? {})) {
        if (v === null) delete tags[k];
        else tags[k] = added[k] = v;
      }
      // An adopted key may carry more (Cloud KMS allows 64 labels): an update may keep, never add to, them.
      const count = Object.keys(tags).length;
      needs(count <= MAX_TAGS || count <= Object.keys(key.tags).length, 'INVALID_ARGUMENT', `a key has at most ${MAX_TAGS} tags: this update would leave it ${count}`, { field: 'tags' });
      // Required tags are judged on the result; labels only where the update writes them, so an old
      // finding on another label does not block an unrelated change.
      this.governance.refuse([
        ...await this.governance.check({ ...facts, tags }, ['tags']),
        ...await this.governance.check({ ...facts, tags: added, aliases: [], description: input.description ?? '' }, ['labels']),
      ]);
      const set = { ...(input.description !== undefined && { description: input.description }), ...(input.tags && { tags }) };
      await updateKeyGuarded(tx, key.id, [key.state], set);
      if (tagsText(tags) !== tagsText(key.tags) && this.tagged(graph.bindings.map((b) => b.connection))) await queueSync(tx, key.id, actor);
      event.detail = { before: { description: key.description, tags: key.tags }, after: { description: set.description ?? key.description, tags: set.tags ?? key.tags } };
    });
    return this.cache.fresh(graph.key.id);
  }

  async addAlias(actor: Actor, ref: string, alias: string): Promise<KeyGraph> {
    const graph = await this.current(actor, ref, 'UPDATE');
    const { key } = graph;
    await this.assertAliasFree(alias, 'name');
    this.governance.refuse((await this.governance.check({ ...this.governance.facts(graph), tags: {}, aliases: [alias], description: '' }, ['labels']))
      .map((v) => ({ ...v, field: 'name' })));
    try {
      await this.change(actor, key.id, { type: 'ALIAS_ADDED', detail: { alias } }, (tx) => insertAliases(tx, key.id, [alias]));
    } catch (err) {
      if (isUniqueViolation(err)) throw new KmsError('ALREADY_EXISTS', `alias "${alias}" is already taken`, { field: 'name', cause: err });
      throw err;
    }
    return this.cache.fresh(key.id);
  }

  async removeAlias(actor: Actor, ref: string, alias: string): Promise<void> {
    const { key } = await this.get(actor, ref);
    await this.change(actor, key.id, { type: 'ALIAS_REMOVED', detail: { alias } }, async (tx) => {
      needs(await deleteAlias(tx, key.id, alias), 'NOT_FOUND', `key "${ref}" has no alias "${alias}"`);
    });
  }

  /**
   * A new version, made by the backends; for a key made of imported material, imported from the
   * caller's `material` instead. The gateway never makes material for such a key: its holder keeps
   * every version's, as AWS KMS rotates imported keys only with new material.
   */
  async rotate(actor: Actor, ref: string, options: { reason?: string; material?: MaterialOpener; inTransaction?: InTransaction } = {}): Promise<KeyGraph> {
    const graph = await this.current(actor, ref, 'ROTATE');
    const { key } = graph;
    const imported = key.origin === 'IMPORTED';
    needs(imported === (options.material !== undefined), 'FAILED_PRECONDITION', imported
      ? `key "${key.id}" has origin IMPORTED: rotate it with new material of yours (material); the gateway makes none for it`
      : `key "${key.id}" has origin ${key.origin}: only a key of origin IMPORTED rotates with material of yours`, { field: 'material' });
    // New material is made only in a spec the rules allow.
    this.governance.refuse(await this.governance.check(this.governance.facts(graph), ['specs']));
    const next = key.currentVersion + 1;
    // The primary must make the new version; a replica that cannot (its connection down) falls behind
    // and the sync job makes it later. Until then envelopes carry the wraps of the bindings that have it.
    // Same-material replicas import the primary's new version once it is made.
    const { material } = options;
    const made = material ? await material(key.spec, (m) => newVersions(graph, this.connections, m)) : await newVersions(graph, this.connections);
    const refs = made.flatMap((m, i) => (m ? [{ bindingId: graph.bindings[i]!.id, versionRef: m.versionRef }] : []));
    const behind = graph.bindings.filter((_, i) => !made[i]);
    const now = new Date();
    try {
      await this.change(actor, key.id, { type: 'ROTATED', reason: options.reason ?? 'ROTATION', detail: { version: next, ...(behind.length > 0 && { behind: behind.map((b) => b.connection) }) } }, async (tx) => {
        await insertVersion(tx, key.id, next, refs);
        if (behind.length > 0) await queueSync(tx, key.id, actor);
        const updated = await updateKeyGuarded(tx, key.id, ['ACTIVE'], {
          currentVersion: next,
          nextRotationAt: nextRotation(key.rotationPeriodDays, now),
        });
        needs(updated, 'FAILED_PRECONDITION', `key "${ref}" changed state during rotation`);
        await options.inTransaction?.(tx, key.id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new KmsError('FAILED_PRECONDITION', `key "${ref}" was rotated concurrently; retry`, { cause: err });
      throw err;
    }
    actor.record.keyVersion = next;
    return this.cache.fresh(key.id);
  }

  /** Queues the key's sync (replicas behind, envelopes awaiting a wrap), or answers the one queued or running. */
  async sync(actor: Actor, ref: string): Promise<JobRow> {
    const { key } = await this.get(actor, ref);
    return queueSync(this.db, key.id, actor);
  }

  async versions(actor: Actor, ref: string) {
    const { key } = await this.get(actor, ref);
    return { key, versions: await listVersions(this.db, key.id) };
  }

  async usage(actor: Actor, ref: string) {
    const { key } = await this.get(actor, ref);
    return { key, operations: await keyUsageOf(this.db, key.id) };
  }

  async history(actor: Actor, ref: string, after: string | undefined, limit: number) {
    const { key } = await this.get(actor, ref);
    return listEvents(this.db, key.id, after, limit);
  }

  /** Applies a named lifecycle transition that needs no provider call. */
  async transition(actor: Actor, ref: string, name: Exclude<TransitionName, 'scheduleDeletion' | 'cancelDeletion' | 'destroy'>, comment?: string): Promise<KeyGraph> {
    const { key } = await this.settled(actor, ref);
    const t = transitions[name];
    const from = t.from as readonly KeyState[];
    needs(from.includes(key.state), 'FAILED_PRECONDITION', `cannot ${name} a key in state ${key.state}`);
    const activated = key.state === 'PRE_ACTIVE' && t.to === 'ACTIVE' && { nextRotationAt: nextRotation(key.rotationPeriodDays, new Date()) };
    await this.write(actor, key.id, from, { state: t.to, ...(name === 'compromise' && { compromiseDate: new Date() }), ...activated },
      { type: 'TRANSITION', fromState: key.state, toState: t.to, reason: t.reason, detail: comment ? { comment } : {} });
    return this.cache.fresh(key.id);
  }

  async scheduleDeletion(actor: Actor, ref: string, pendingDays: number = deletionWindow.defaultDays): Promise<KeyGraph> {
    needs(Number.isInteger(pendingDays) && pendingDays >= deletionWindow.minDays && pendingDays <= deletionWindow.maxDays, 'INVALID_ARGUMENT',
      `pendingDays must be a whole number from ${deletionWindow.minDays} to ${deletionWindow.maxDays}`, { field: 'pendingDays' });
    const graph = await this.settled(actor, ref);
    this.governance.deletionWindow(pendingDays);
    const { key } = graph;
    const t = transitions.scheduleDeletion;
    needs((t.from as readonly KeyState[]).includes(key.state), 'FAILED_PRECONDITION', `cannot schedule deletion of a key in state ${key.state}`);
    const deletionDate = new Date(Date.now() + pendingDays * DAY);
    await this.write(actor, key.id, t.from, { state: t.to, stateBeforeDeletion: key.state, deletionDate },
      { type: 'TRANSITION', fromState: key.state, toState: t.to, reason: t.reason, detail: { pendingDays, deletionDate: deletionDate.toISOString() } }, { sync: true });
    return this.cache.fresh(key.id);
  }

  async cancelDeletion(actor: Actor, ref: string): Promise<KeyGraph> {
    const graph = await this.settled(actor, ref);
    const { key } = graph;
    needs(key.state === 'PENDING_DELETION', 'FAILED_PRECONDITION', `key "${ref}" is not pending deletion (state ${key.state})`);
    const to = stateAfterCancel(key.stateBeforeDeletion);
    await this.write(actor, key.id, ['PENDING_DELETION'], { state: to, stateBeforeDeletion: null, deletionDate: null },
      { type: 'TRANSITION', fromState: key.state, toState: to, reason: transitions.cancelDeletion.reason, detail: {} }, { sync: true });
    return this.cache.fresh(key.id);
  }

  /**
   * Moves a key on by its dates (activation, deactivation, end of deletion window) and persists
   * it; the sweep calls this for due keys and every transition calls it first, so no transition
   * starts from a state the dates have already left.
   */
  async settle(ref: string, now = new Date()): Promise<KeyGraph> {
    return this.settleGraph(await this.cache.fresh(ref), now);
  }

  private async settleGraph(graph: KeyGraph, now = new Date()): Promise<KeyGraph> {
    const { key } = graph;
    const due = effectiveState(key, now);
    if (due === key.state) return graph;
    const reason = due === 'ACTIVE' ? transitions.activate.reason : due === 'DEACTIVATED' ? transitions.expire.reason : transitions.destroy.reason;
    const activated = key.state === 'PRE_ACTIVE' && due === 'ACTIVE' && { nextRotationAt: nextRotation(key.rotationPeriodDays, now) };
    await this.write(systemActor('lifecycle'), key.id, [key.state], { state: due, ...(due === 'DESTROYED' && { destroyedAt: now }), ...activated },
      { type: 'TRANSITION', fromState: key.state, toState: due, reason, detail: { by: 'date' } }, { quietIfMoved: true, sync: due === 'DESTROYED' });
    return this.cache.fresh(key.id);
  }

  /** The key moved on by its dates, once the actor's access to it is decided. */
  private async settled(actor: Actor, ref: string): Promise<KeyGraph> {
    const graph = await this.get(actor, ref);
    needs(graph.key.managed, 'FAILED_PRECONDITION', OBSERVED);
    return this.settleGraph(graph);
  }

  /** Brings a key discovery found under the gateway's management: from now on it is used and governed. */
  async adopt(actor: Actor, ref: string): Promise<KeyGraph> {
    const { key } = await this.get(actor, ref);
    needs(!key.managed, 'FAILED_PRECONDITION', `key "${ref}" is managed already`);
    await this.change(actor, key.id, { type: 'ADOPTED', detail: {} }, async (tx) => {
      needs(await updateKeyManaged(tx, key.id), 'FAILED_PRECONDITION', `key "${ref}" was adopted concurrently`);
    });
    return this.cache.fresh(key.id);
  }

  private async current(actor: Actor, ref: string, op: KeyOperation): Promise<KeyGraph> {
    const graph = await this.settled(actor, ref);
    const refusal = lifecycleRefusal(graph.key, op, new Date());
    needs(!refusal, 'FAILED_PRECONDITION', refusal!);
    return graph;
  }

  private async assertAliasFree(alias: string, field: string): Promise<void> {
    needs(ALIAS.test(alias), 'INVALID_ARGUMENT', `alias "${alias}" must be 1-128 letters, digits, '.', '_' or '-'`, { field });
    needs(!(await aliasOwner(this.db, alias)), 'ALREADY_EXISTS', `alias "${alias}" is already taken`, { field });
  }

  /**
   * Writes a guarded key update; when the key has left `from`, nothing is written. `sync` queues the
   * key's sync job with it, for a change its backend keys must follow (backend-state.ts).
   */
  private async write(actor: Actor, id: string, from: readonly KeyState[], set: Parameters<typeof updateKeyGuarded>[3], event: ChangeEvent,
    options: { quietIfMoved?: boolean; sync?: boolean } = {}): Promise<void> {
    await this.change(actor, id, event, async (tx) => {
      if (await updateKeyGuarded(tx, id, from, set)) {
        if (options.sync) await queueSync(tx, id, actor);
        return true;
      }
      if (options.quietIfMoved) return false; // another instance applied the same date rule first
      throw new KmsError('FAILED_PRECONDITION', `key "${id}" changed state concurrently; retry`);
    });
  }

  /** Whether a key's tags reach any of its backend keys: then a change of them is synced. */
  private tagged(connections: string[]): boolean {
    return connections.some((name) => isTagger(this.connections.get(name).provider));
  }

  /**
   * The one shape of every change to an existing key: the mutation, its history event and the
   * cache notification in one transaction, then this instance's cache entry dropped. A mutation
   * that returns false changed nothing and records nothing.
   */
  private async change(actor: Actor, id: string, event: ChangeEvent, mutate: (tx: Db) => Promise<unknown>): Promise<void> {
    await this.db.transaction(async (tx) => {
      if ((await mutate(tx)) === false) return;
      await insertEvent(tx, { keyId: id, actor: actor.identity.principal, requestId: actor.requestId, ...event });
      await notifyKeyChanged(tx, id);
    });
    this.cache.invalidate(id);
  }
}
