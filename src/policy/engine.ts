// The access decision, by Cedar: the shipped policies in policies/roles and the policies added
// through the API, preparsed once per change of the set, over one principal, action, resource and
// context per request. Default deny: no satisfied permit denies, and any satisfied forbid denies.
// A decision explains itself with the ids of the policies that made it.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { KmsError } from '../errors.ts';
import type { Identity } from '../auth/identity.ts';

const POLICY_DIR = fileURLToPath(new URL('../../policies', import.meta.url));

/** The Cedar schema every policy is validated against. */
export const SCHEMA = readFileSync(join(POLICY_DIR, 'schema.cedarschema'), 'utf8');

const ACTIONS = schemaActions(SCHEMA);

/** Every action, one per API operation. */
export const ALL_ACTIONS = Object.keys(ACTIONS) as [string, ...string[]];

/** The actions a grant may give: those the schema applies to existing keys (all but createKey). */
export const KEY_ACTIONS = ALL_ACTIONS.filter((id) => id !== 'createKey' && ACTIONS[id]!.includes('Key')) as [string, ...string[]];

/** What a decision is about: a key (real, or the one a create would make), or the gateway itself. */
export type Resource =
  | { type: 'Key'; id: string; attrs: KeyAttributes; tags: Record<string, string> }
  | { type: 'Gateway' };

export interface KeyAttributes { spec: string; usage: string; state: string; origin: string; connection: string; provider: string; exportable: boolean }

/** `approvals`: distinct principals, not the requester, who approved this operation on this target. */
export interface RequestFacts { now: Date; ip?: string; approvals: number }

export interface Decision { allowed: boolean; reasons: string[] }

/** The reason recorded when no policy permits. */
export const DEFAULT_DENY = 'default-deny';

let engines = 0;

export class PolicyEngine {
  readonly schema = SCHEMA;
  private readonly setId = `kmsgw-policies-${++engines}`;
  private readonly shipped: Record<string, string>;

  constructor() {
    this.shipped = {};
    const roles = join(POLICY_DIR, 'roles');
    for (const file of readdirSync(roles).filter((f) => f.endsWith('.cedar')).sort()) {
      for (const [id, text] of Object.entries(splitPolicies(readFileSync(join(roles, file), 'utf8'), file))) {
        if (this.shipped[id]) throw new Error(`policies/roles/${file}: policy id "${id}" is used twice`);
        this.shipped[id] = text;
      }
    }
    const errors = this.validate(this.shipped);
    if (errors.length > 0) throw new Error(`shipped policies do not validate: ${errors.join('; ')}`);
    this.use({});
  }

  get shippedIds(): string[] { return Object.keys(this.shipped); }

  get shippedPolicies(): Readonly<Record<string, string>> { return this.shipped; }

  /** Schema errors of a policy set, as messages naming the policy; empty when it validates. */
  validate(policies: Record<string, string>): string[] {
    const answer = cedar.validate({ schema: this.schema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
    if (answer.type === 'failure') return answer.errors.map((e) => e.message);
    return answer.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`);
  }

  /** Puts a new set in force: the shipped policies plus `added` (validated by the caller). */
  use(added: Record<string, string>): void {
    const answer = cedar.preparsePolicySet(this.setId, { staticPolicies: { ...this.shipped, ...added } });
    if (answer.type === 'failure') throw new KmsError('INTERNAL', `policy set does not parse: ${answer.errors.map((e) => e.message).join('; ')}`);
  }

  decide(identity: Identity, action: string, resource: Resource, facts: RequestFacts): Decision {
    const principal = { type: 'KmsGw::Principal', id: identity.principal };
    const resourceUid = resource.type === 'Key' ? { type: 'KmsGw::Key', id: resource.id } : { type: 'KmsGw::Gateway', id: 'gateway' };
    const answer = cedar.statefulIsAuthorized({
      principal,
      action: { type: 'KmsGw::Action', id: action },
      resource: resourceUid,
      context: {
        now: Math.floor(facts.now.getTime() / 1000),
        authMethod: identity.authMethod,
        approvals: facts.approvals,
        ...(facts.ip && { ip: { __extn: { fn: 'ip', arg: facts.ip } } }),
      },
      preparsedPolicySetId: this.setId,
      entities: [
        {
          uid: principal,
          attrs: {
            name: identity.name,
            groups: [...identity.groups],
            ...(identity.validUntil && { validUntil: Math.floor(identity.validUntil.getTime() / 1000) }),
          },
          parents: identity.roles.map((id) => ({ type: 'KmsGw::Role', id })),
        },
        resource.type === 'Key'
          ? { uid: resourceUid, attrs: { ...resource.attrs }, parents: [], tags: resource.tags }
          : { uid: resourceUid, attrs: {}, parents: [] },
      ],
    });
    if (answer.type === 'failure') throw new KmsError('INTERNAL', `policy evaluation failed: ${answer.errors.map((e) => e.message).join('; ')}`);
    const { decision, diagnostics } = answer.response;
    // A policy that errors (say, a missing attribute) is skipped by Cedar; a forbid that errors must not turn into an allow unnoticed.
    const errored = diagnostics.errors.map((e) => `error:${e.policyId}`);
    const reasons = [...diagnostics.reason.sort(), ...errored];
    return { allowed: decision === 'allow', reasons: reasons.length > 0 ? reasons : [DEFAULT_DENY] };
  }
}

/** Each action of the schema with the resource types it applies to. */
function schemaActions(schema: string): Record<string, string[]> {
  const answer = cedar.schemaToJson(schema);
  if (answer.type === 'failure') throw new Error(`policies/schema.cedarschema: ${answer.errors.map((e) => e.message).join('; ')}`);
  return Object.fromEntries(Object.entries(answer.json.KmsGw!.actions).map(([id, a]) => [id, a.appliesTo?.resourceTypes ?? []]));
}

/** The policies of one text by their `@id` annotations, which every policy must have. */
export function splitPolicies(text: string, source: string): Record<string, string> {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new KmsError('INVALID_ARGUMENT', `${source}: ${parts.errors.map((e) => e.message).join('; ')}`, { field: 'text' });
  const out: Record<string, string> = {};
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    if (json.type === 'failure') throw new KmsError('INVALID_ARGUMENT', `${source}: ${json.errors.map((e) => e.message).join('; ')}`, { field: 'text' });
    const id = json.json.annotations?.id;
    if (!id) throw new KmsError('INVALID_ARGUMENT', `${source}: every policy needs an @id("…") annotation`, { field: 'text' });
    out[id] = policy;
  }
  return out;
}
