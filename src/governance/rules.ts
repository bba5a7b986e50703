// Governance rule sets: what keys must look like, as data (policies/governance/*.yaml). A rule set
// is checked against the facts of a key (the key to be made, or one that exists) and yields
// violations, each naming the rule, the request field at fault and the fix.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { keySpecs, keyUsages, type KeySpec, type KeyUsage } from '../keys/specs.ts';
import { scanLabels, type Label } from './labels.ts';

const providers = ['local', 'aws', 'azure', 'gcp', 'pkcs11'] as const;
const days = z.number().int().min(1).max(3650);

const ruleSetSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  description: z.string().default(''),
  /** Allowed specs; a spec names its size, so this is also the minimum size. */
  specs: z.object({ allowed: z.array(z.enum(keySpecs)).min(1), fix: z.string().optional() }).strict().optional(),
  /** Keys of these usages must rotate at least every maxPeriodDays. */
  rotation: z.object({ maxPeriodDays: days, usages: z.array(z.enum(keyUsages)).min(1).default([...keyUsages]) }).strict().optional(),
  tags: z.object({ required: z.array(z.string().min(1)).min(1) }).strict().optional(),
  labels: z.object({ refuseSecrets: z.boolean().default(true), refusePersonalData: z.boolean().default(true) }).strict().optional(),
  /** Envelope keys (ENCRYPT_DECRYPT) need this many replicas, so data survives their cloud. */
  replicas: z.object({ min: z.number().int().min(1).max(10) }).strict().optional(),
  placement: z.object({ providers: z.array(z.enum(providers)).min(1).optional(), regions: z.array(z.string().min(1)).min(1).optional() }).strict().optional(),
  deletion: z.object({ minWindowDays: z.number().int().min(7).max(30) }).strict().optional(),
}).strict();
export type RuleSet = z.infer<typeof ruleSetSchema>;

export const RULE_NAMES = ['specs', 'rotation', 'tags', 'labels', 'replicas', 'placement'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Where a key lives: its primary and replica bindings' connections. */
export interface Placement { connection: string; provider: string; region?: string; role: 'primary' | 'replica' }

export interface KeyFacts {
  spec: KeySpec;
  usage: KeyUsage;
  tags: Record<string, string>;
  aliases: string[];
  description: string;
  rotationPeriodDays: number | null;
  placements: Placement[];
}

export interface Violation { rule: RuleName; field: string; message: string; fix: string }

export function loadRuleSet(path: string): RuleSet {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid configuration: the governance rule set cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
  }
  const result = ruleSetSchema.safeParse(parse(text));
  if (result.success) return result.data;
  throw new ConfigError(`invalid governance rule set in ${path}:\n${result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
}

function labelsOf(facts: Pick<KeyFacts, 'tags' | 'aliases' | 'description'>): Label[] {
  return [
    ...Object.entries(facts.tags).map(([k, v]) => ({ name: `tag "${k}"`, text: `${k} = ${v}` })),
    ...facts.aliases.map((a) => ({ name: `alias "${a}"`, text: a })),
    ...(facts.description ? [{ name: 'description', text: facts.description }] : []),
  ];
}

/** The violations of the rules named (all by default); label scans are the only asynchronous part. */
export async function violations(rules: RuleSet, facts: KeyFacts, only?: readonly RuleName[]): Promise<Violation[]> {
  const checks = (name: RuleName) => !only || only.includes(name);
  const found: Violation[] = [];
  const { specs, rotation, tags, labels, replicas, placement } = rules;
  if (specs && checks('specs') && !specs.allowed.includes(facts.spec)) {
    found.push({ rule: 'specs', field: 'spec', message: `spec ${facts.spec} is not allowed by "${rules.name}"`, fix: specs.fix ?? `use one of ${specs.allowed.join(', ')}: create such a key, move the data to it, then retire this one` });
  }
  if (rotation && checks('rotation') && rotation.usages.includes(facts.usage) && (facts.rotationPeriodDays === null || facts.rotationPeriodDays > rotation.maxPeriodDays)) {
    found.push({
      rule: 'rotation', field: 'rotationPeriodDays',
      message: facts.rotationPeriodDays === null ? 'the key has no rotation period' : `a rotation period of ${facts.rotationPeriodDays} days is longer than ${rotation.maxPeriodDays}`,
      fix: `set rotationPeriodDays to ${rotation.maxPeriodDays} or less`,
    });
  }
  const missing = tags && checks('tags') ? tags.required.filter((t) => !facts.tags[t]?.trim()) : [];
  if (missing.length > 0) found.push({ rule: 'tags', field: 'tags', message: `required tags missing: ${missing.join(', ')}`, fix: `tag the key with ${missing.map((t) => `"${t}"`).join(', ')}` });
  if (labels && checks('labels')) {
    for (const f of await scanLabels(labelsOf(facts), { secrets: labels.refuseSecrets, personalData: labels.refusePersonalData })) {
      const field = f.label.startsWith('tag') ? 'tags' : f.label.startsWith('alias') ? 'aliases' : 'description';
      found.push({ rule: 'labels', field, message: `${f.label} looks like ${f.kind === 'secret' ? `a secret: ${f.what}` : `personal data: ${f.what}`}`, fix: `remove it from the ${f.label}; labels end up in audit trails and cloud consoles` });
    }
  }
  const replicaCount = facts.placements.filter((p) => p.role === 'replica').length;
  if (replicas && checks('replicas') && facts.usage === 'ENCRYPT_DECRYPT' && replicaCount < replicas.min) {
    found.push({ rule: 'replicas', field: 'replicas', message: `the key has ${replicaCount} replica(s), fewer than ${replicas.min}`, fix: `give the key ${replicas.min} replica(s) on other connections` });
  }
  if (placement && checks('placement')) {
    for (const p of facts.placements) {
      const field = p.role === 'primary' ? 'connection' : 'replicas';
      if (placement.providers && !placement.providers.includes(p.provider as (typeof providers)[number])) {
        found.push({ rule: 'placement', field, message: `connection "${p.connection}" is a ${p.provider} connection; allowed providers: ${placement.providers.join(', ')}`, fix: `place the key on a connection of ${placement.providers.join(', ')}` });
      }
      if (placement.regions && (!p.region || !placement.regions.includes(p.region))) {
        found.push({
          rule: 'placement', field,
          message: p.region ? `connection "${p.connection}" is in region ${p.region}; allowed regions: ${placement.regions.join(', ')}` : `connection "${p.connection}" declares no region`,
          fix: p.region ? `place the key on a connection in ${placement.regions.join(', ')}` : `declare the region of connection "${p.connection}" in the configuration`,
        });
      }
    }
  }
  return found;
}
