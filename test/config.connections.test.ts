// The connections file: what a pkcs11 connection must say, and what start-up refuses with a
// message naming the field at fault.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.ts';

function load(connections: unknown[]) {
  const file = join(mkdtempSync(join(tmpdir(), 'kmsgw-config-')), 'config.yaml');
  writeFileSync(file, stringify({ connections }));
  return () => loadConfig({ KMSGW_CONFIG: file });
}

const hsm = { name: 'hsm', provider: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'kmsgw', pinFile: '/run/secrets/pin' };

describe('pkcs11 connections', () => {
  it('a module, a token and a PIN source are enough; the session pool defaults to 8', () => {
    expect(load([hsm])().connections[0]).toEqual({ ...hsm, sessions: 8 });
  });

  it('token and slot together are refused, naming the field', () => {
    expect(load([{ ...hsm, slot: 1 }])).toThrow(/connections\.0\.token: give exactly one of token and slot/);
  });

  it('a connection without a PIN source is refused, and a PIN in the file is not a known field', () => {
    expect(load([{ ...hsm, pinFile: undefined }])).toThrow(/connections\.0\.pinFile: give exactly one of pinFile and pinEnv/);
    expect(load([{ ...hsm, pin: '1234' }])).toThrow(/connections\.0: Unrecognized key: "pin"/);
  });

  it('two connections on one token are refused: they would share one login', () => {
    expect(load([hsm, { ...hsm, name: 'hsm2', pinEnv: 'OTHER_PIN', pinFile: undefined }])).toThrow(/two pkcs11 connections use one token/);
  });
});

describe('azure connections', () => {
  it('a vault URL is enough; a trailing slash is dropped', () => {
    expect(load([{ name: 'kv', provider: 'azure', vaultUrl: 'https://my-vault.vault.azure.net/' }])().connections[0]).toMatchObject({ vaultUrl: 'https://my-vault.vault.azure.net' });
  });

  it('a vault URL with a path or over http is refused, naming the field', () => {
    expect(load([{ name: 'kv', provider: 'azure', vaultUrl: 'https://my-vault.vault.azure.net/keys' }])).toThrow(/connections\.0\.vaultUrl: the vault URL/);
    expect(load([{ name: 'kv', provider: 'azure', vaultUrl: 'http://my-vault.vault.azure.net' }])).toThrow(/connections\.0\.vaultUrl/);
  });
});

describe('gcp connections', () => {
  it('project, location and key ring are enough; protection level defaults to SOFTWARE', () => {
    expect(load([{ name: 'g', provider: 'gcp', project: 'my-project', location: 'europe-west1', keyRing: 'ring' }])().connections[0]).toMatchObject({ protectionLevel: 'SOFTWARE' });
  });

  it('a malformed project id is refused, naming the field', () => {
    expect(load([{ name: 'g', provider: 'gcp', project: 'My Project', location: 'europe-west1', keyRing: 'ring' }])).toThrow(/connections\.0\.project: a GCP project id/);
  });
});
