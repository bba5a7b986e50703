// Labels (tags, aliases, descriptions) that look like secrets or personal data. Labels travel into
// inventories, audit trails and cloud consoles, so a secret or a person's data in one leaks. Secrets
// are found by secretlint's recommended rules (AWS, GCP, GitHub, Slack, npm, private keys, basic
// auth, ...), AWS access key ids included; personal data by validator's email, payment card (Luhn)
// and IBAN checks, plus the US SSN shape. Phone numbers are left out: too many numeric ids look
// like one.
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import validator from 'validator';

const secretlintConfig = {
  rules: [{
    id: '@secretlint/secretlint-rule-preset-recommend',
    rule: recommended,
    rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
  }],
};

/** A labelled text: `name` says where it is (tag "owner", alias, description), for the message. */
export interface Label { name: string; text: string }

export interface LabelFinding { label: string; kind: 'secret' | 'personal data'; what: string }

const SSN = /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/;
const CARD_RUN = /\d(?:[ -]?\d){12,18}/g;
const IBAN_RUN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b/gi;

function personalData(text: string): string | undefined {
  if (text.split(/[\s,;<>()"'[\]]+/).some((t) => t.includes('@') && validator.isEmail(t))) return 'an email address';
  if ([...text.matchAll(CARD_RUN)].some((m) => validator.isCreditCard(m[0].replace(/[ -]/g, '')))) return 'a payment card number';
  if ([...text.matchAll(IBAN_RUN)].some((m) => validator.isIBAN(m[0].replace(/ /g, '').toUpperCase()))) return 'an IBAN';
  if (SSN.test(text)) return 'a US social security number';
  return undefined;
}

async function secret(text: string): Promise<string | undefined> {
  const result = await lintSource({ source: { filePath: 'label', content: text, contentType: 'text', ext: '' }, options: { config: secretlintConfig } });
  const hit = result.messages[0];
  return hit && `${hit.messageId} (${hit.ruleId.replace('@secretlint/secretlint-rule-', '')})`;
}

/** Findings over labels; tags are also read as `name = value`, the shape secret scanners know. */
export async function scanLabels(labels: Label[], options: { secrets: boolean; personalData: boolean }): Promise<LabelFinding[]> {
  const findings = await Promise.all(labels.map(async (l): Promise<LabelFinding | undefined> => {
    const pii = options.personalData ? personalData(l.text) : undefined;
    if (pii) return { label: l.name, kind: 'personal data', what: pii };
    const found = options.secrets ? await secret(l.text) : undefined;
    return found ? { label: l.name, kind: 'secret', what: found } : undefined;
  }));
  return findings.filter((f) => f !== undefined);
}
