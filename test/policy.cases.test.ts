// The decision corpus (STYLE rule 9): every case in policies/cases/*.yaml is decided by the same
// engine the gateway uses, and every shipped policy must be a reason in some case.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, splitPolicies, type Resource } from '../src/policy/engine.ts';
import { ROLES } from '../src/auth/identity.ts';

interface Case {
  name: string;
  principal: { roles: string[]; groups?: string[]; validForSeconds?: number };
  action: string;
  resource?: 'gateway' | { spec?: string; usage?: string; state?: string; exportable?: boolean; tags?: Record<string, string> };
  context?: { ip?: string; approvals?: number };
  expect: { decision: 'allow' | 'deny'; reasons: string[] };
}

const dir = join(import.meta.dirname, '..', 'policies', 'cases');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const reasonsSeen = new Set<string>();
const engine = new PolicyEngine();

function resourceOf(c: Case): Resource {
  if (c.resource === 'gateway') return { type: 'Gateway' };
  const r = c.resource ?? {};
  return {
    type: 'Key', id: 'key_01jd0000000000000000000000', tags: r.tags ?? {},
    attrs: { spec: r.spec ?? 'AES_256', usage: r.usage ?? 'ENCRYPT_DECRYPT', state: r.state ?? 'ACTIVE', origin: 'GATEWAY', connection: 'local', provider: 'local', exportable: r.exportable ?? false },
  };
}

describe.each(files)('policies/cases/%s', (file) => {
  const doc = parse(readFileSync(join(dir, file), 'utf8')) as { policies?: Record<string, string>; templates?: string[]; cases: Case[] };

  it.each(doc.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    for (const role of c.principal.roles) expect(ROLES).toContain(role);
    // Templates are policies shipped for operators to put in force (policies/approvals/*.cedar).
    const templates = (doc.templates ?? []).map((t) => splitPolicies(readFileSync(join(dir, '..', t), 'utf8'), t));
    const policies = Object.assign({}, doc.policies, ...templates);
    expect(engine.validate(policies)).toEqual([]);
    engine.use(policies);
    const now = new Date();
    const decision = engine.decide({
      principal: 'ak_01jd0000000000000000000001', name: 'case', authMethod: 'api-key', roles: c.principal.roles, groups: c.principal.groups ?? [],
      ...(c.principal.validForSeconds !== undefined && { validUntil: new Date(now.getTime() + c.principal.validForSeconds * 1000) }),
    }, c.action, resourceOf(c), { now, ip: c.context?.ip, approvals: c.context?.approvals ?? 0 });
    for (const r of decision.reasons) reasonsSeen.add(r);
    expect({ decision: decision.allowed ? 'allow' : 'deny', reasons: decision.reasons }).toEqual(c.expect);
  });
});

describe('the corpus', () => {
  it('names every shipped policy as the reason of some decision', () => {
    expect(engine.shippedIds.filter((id) => !reasonsSeen.has(id))).toEqual([]);
  });

  it('names every approval template as the reason of some decision', () => {
    const templates = readdirSync(join(dir, '..', 'approvals')).flatMap((f) => Object.keys(splitPolicies(readFileSync(join(dir, '..', 'approvals', f), 'utf8'), f)));
    expect(templates.length).toBeGreaterThan(0);
    expect(templates.filter((id) => !reasonsSeen.has(id))).toEqual([]);
  });
});
