// The governance rule set in force, and the shipped standards reports can be asked against. The
// key services ask it for the violations of a change and refuse the change when there are any:
// 422, naming the rule, the field and the fix. Nothing is written before that.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmsError, needs } from '../errors.ts';
import type { KeyGraph } from '../db/queries/keys.ts';
import type { Connections } from '../routing/connection.ts';
import { loadRuleSet, violations, type KeyFacts, type Placement, type RuleName, type RuleSet, type Violation } from './rules.ts';

const GOVERNANCE_DIR = fileURLToPath(new URL('../../policies/governance', import.meta.url));

export class Governance {
  /** Every rule set a report can be asked against, by name: the shipped ones and the one in force. */
  readonly standards = new Map<string, RuleSet>();

  constructor(readonly inForce: RuleSet, private readonly connections: Connections) {
    for (const file of readdirSync(GOVERNANCE_DIR).filter((f) => f.endsWith('.yaml')).sort()) {
      const rules = loadRuleSet(join(GOVERNANCE_DIR, file));
      this.standards.set(rules.name, rules);
    }
    this.standards.set(inForce.name, inForce);
  }

  static open(path: string | undefined, connections: Connections): Governance {
    return new Governance(loadRuleSet(path ?? join(GOVERNANCE_DIR, 'default.yaml')), connections);
  }

  placement(connection: string, role: Placement['role']): Placement {
    const c = this.connections.find(connection);
    return { connection, provider: c?.provider.kind ?? 'unknown', region: c?.region, role };
  }

  facts(graph: KeyGraph): KeyFacts {
    const { key } = graph;
    return {
      spec: key.spec, usage: key.usage, tags: key.tags, aliases: graph.aliases, description: key.description, rotationPeriodDays: key.rotationPeriodDays,
      placements: graph.bindings.map((b) => this.placement(b.connection, b.role)),
    };
  }

  async check(facts: KeyFacts, only?: readonly RuleName[], rules: RuleSet = this.inForce): Promise<Violation[]> {
    return violations(rules, facts, only);
  }

  /** Throws when there is any violation: the request is well-formed, but the rules refuse it. */
  refuse(found: Violation[]): void {
    if (found.length === 0) return;
    const list = found.map((v) => `${v.rule}: ${v.message} (fix: ${v.fix})`).join('; ');
    throw new KmsError('INVALID_ARGUMENT', `governance rules "${this.inForce.name}" refuse this: ${list}`, { field: found[0]!.field, status: 422 });
  }

  deletionWindow(pendingDays: number): void {
    const min = this.inForce.deletion?.minWindowDays;
    needs(min === undefined || pendingDays >= min, 'INVALID_ARGUMENT',
      `governance rules "${this.inForce.name}" refuse this: deletion: a window of ${pendingDays} days is shorter than ${min} (fix: schedule the deletion ${min} or more days ahead)`,
      { field: 'pendingDays', status: 422 });
  }

  standard(name?: string): RuleSet {
    const rules = name === undefined ? this.inForce : this.standards.get(name);
    needs(rules, 'NOT_FOUND', `no standard "${name}"; known: ${[...this.standards.keys()].join(', ')}`);
    return rules;
  }
}
