// Labels that look like secrets or personal data are found; everyday labels are not.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { scanLabels } from '../src/governance/labels.ts';

const scan = async (name: string, text: string) => (await scanLabels([{ name, text }], { secrets: true, personalData: true }))[0];
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('sensitive labels', () => {
  it.each([
    ['an email address', 'owner = alice.smith@example.com'],
    ['an email address', 'contact: bob@corp.example (on call)'],
    ['a payment card number', 'card = 4111 1111 1111 1111'],
    ['an IBAN', 'refund account DE89 3704 0044 0532 0130 00'],
    ['a US social security number', 'ssn = 123-45-6789'],
  ])('personal data: %s in "%s"', async (what, text) => {
    expect(await scan('tag', text)).toMatchObject({ kind: 'personal data', what });
  });

  it.each([
    ['an AWS secret access key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3XAMPLEk'],
    ['an AWS access key id', 'AKIAQ3EGRTZXWNBVL7PH'],
    ['a GitHub token', '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'],
    ['a Slack token', 'xoxb-1234567890-1234567890123-abcdefghijABCDEFGHIJklmn'],
    ['a private key', pem],
  ])('secret: %s', async (_what, text) => {
    expect(await scan('tag', text)).toMatchObject({ kind: 'secret' });
  });

  it.each([
    'owner = team-payments', 'data-classification = confidential', 'cost-center = 4711', 'expires = 2026-11-23',
    'commit = 3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'version = v1.2.3', 'team@ (mailing list)', 'ticket = JIRA-12345', 'phone-extension = 4412',
  ])('an everyday label is not refused: "%s"', async (text) => {
    expect(await scan('tag', text)).toBeUndefined();
  });
});
