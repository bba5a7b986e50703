// Access control at the decide step: the Cedar engine over the policy set in force (shipped plus
// those stored through the API, reloaded on every instance when NOTIFY says the set changed), with
// decisions cached per key state for at most a second, the granularity of `context.now`. A
// refusal is PERMISSION_DENIED naming the action; the decision and its reasons go into the
// request's audit record either way.
import { KmsError } from '../errors.ts';
import type { Database, Db } from '../db/client.ts';
import { activePolicies } from '../db/queries/policies.ts';
import type { KeyGraph } from '../db/queries/keys.ts';
import type { Actor } from '../keys/model.ts';
import { RateLimits } from './rate-limits.ts';
import { DEFAULT_DENY, PolicyEngine, type Decision, type Resource } from './engine.ts';

export const POLICY_CHANNEL = 'kmsgw_policies';

interface Cached { decision: Decision; until: number }

export const GATEWAY: Resource = { type: 'Gateway' };

/** More approvals than any sane rule asks for: the search for the count needed stops here. */
export const MAX_APPROVALS = 9;

export class Access {
  private generation = 0;
  // Keyed by the key's graph object: a changed key is a new object, so its old decisions go with it.
  private readonly byKey = new WeakMap<object, Map<string, Cached>>();
  private readonly onGateway = new Map<string, Cached>();
  private unlisten?: () => Promise<void>;

  constructor(readonly engine: PolicyEngine, private readonly db: Db, private readonly limits = new RateLimits()) {}

  async start(database: Database): Promise<void> {
    await this.reload();
    this.unlisten = await database.listen(POLICY_CHANNEL, () => void this.reload(), () => void this.reload());
  }

  async stop(): Promise<void> { await this.unlisten?.(); }

  /** Puts the stored policies in force; decisions made under the old set are dropped. */
  async reload(): Promise<void> {
    const rows = await activePolicies(this.db, new Date());
    this.engine.use(Object.fromEntries(rows.map((r) => [r.id, r.text])));
    this.generation += 1;
    this.onGateway.clear();
  }

  /**
   * The approvals the actor needs for an operation on a resource: the least count at which the
   * policies allow it (0: none needed), or undefined when no count up to MAX_APPROVALS would.
   */
  approvalsNeeded(actor: Actor, operation: string, resource: Resource): number | undefined {
    const now = new Date();
    for (let approvals = 0; approvals <= MAX_APPROVALS; approvals++) {
      if (this.engine.decide(actor.identity, operation, resource, { now, ip: actor.ip, approvals }).allowed) return approvals;
    }
    return undefined;
  }

  /**
   * Decides the actor's operation on a key: PERMISSION_DENIED when refused, RESOURCE_EXHAUSTED
   * when the key is over its request rate.
   */
  checkKey(actor: Actor, graph: KeyGraph): void {
    actor.record.keyId = graph.key.id;
    let cache = this.byKey.get(graph.key);
    if (!cache) this.byKey.set(graph.key, (cache = new Map()));
    this.check(actor, () => keyResource(graph), cache, graph.key.id);
    this.limits.key(actor, graph.key.id);
  }

  /** Counts a request against its principal's rate; RESOURCE_EXHAUSTED when over it. */
  checkRate(actor: Actor): void {
    this.limits.principal(actor);
  }

  /** Decides an operation on a key that does not exist yet, from the attributes it would have. */
  checkNewKey(actor: Actor, resource: Extract<Resource, { type: 'Key' }>): void {
    this.check(actor, () => resource);
  }

  /** Decides an operation on the gateway itself: collections and administration. */
  checkGateway(actor: Actor): void {
    this.check(actor, () => GATEWAY, this.onGateway);
  }

  /**
   * `resource` is built only when the decision is not cached. `keyId` names an existing key: its
   * approval must be for that key. A gateway operation's approval was matched to its path when
   * claimed, and a key to be created has none.
   */
  private check(actor: Actor, resource: () => Resource, cache?: Map<string, Cached>, keyId?: string): void {
    const { identity, operation } = actor;
    if (identity.authMethod === 'system') return;
    if (!operation) throw new KmsError('INTERNAL', 'a request reached an access decision without an operation');
    const now = Date.now();
    const approvals = actor.approval && (keyId === undefined || actor.approval.target === keyId) ? actor.approval.count : 0;
    const id = `${this.generation}|${identity.principal}|${identity.roles.join(',')}|${identity.groups.join(',')}|${operation}|${actor.ip ?? ''}|${approvals}`;
    let hit = cache?.get(id);
    if (!hit || hit.until <= now) {
      hit = { decision: this.engine.decide(identity, operation, resource(), { now: new Date(now), ip: actor.ip, approvals }), until: now + 1000 - (now % 1000) };
      if (cache) {
        if (cache.size >= 256) cache.clear();
        cache.set(id, hit);
      }
    }
    actor.record.decision = hit.decision.allowed ? 'allow' : 'deny';
    actor.record.reasons = hit.decision.reasons;
    if (hit.decision.allowed) return;
    const refusal = `principal "${identity.principal}" may not ${operation}${actor.record.keyId ? ` key "${actor.record.keyId}"` : ''} (${hit.decision.reasons.join(', ')})`;
    // Approvals only lift forbids: when one decided, say how many approvals would do.
    const needed = hit.decision.reasons.includes(DEFAULT_DENY) ? undefined : this.approvalsNeeded(actor, operation, resource());
    throw new KmsError('PERMISSION_DENIED', needed && needed > approvals
      ? `${refusal}: it needs ${needed} approval(s); ask with POST /v1/approvals and present the approved request in the Kmsgw-Approval header`
      : refusal);
  }
}

export function keyResource(graph: KeyGraph): Extract<Resource, { type: 'Key' }> {
  const { key } = graph;
  return {
    type: 'Key', id: key.id, tags: key.tags,
    attrs: { spec: key.spec, usage: key.usage, state: key.state, origin: key.origin, connection: key.connection, provider: key.provider, exportable: key.extractable },
  };
}
