// The access parts of the configuration file: rate limits, TLS and client certificates, and the
// governance rule set, each refused at start-up with a message naming the field at fault.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { loadRuleSet } from '../src/governance/rules.ts';

function write(name: string, content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kmsgw-config-')), name);
  writeFileSync(file, stringify(content));
  return file;
}
const load = (content: unknown) => () => loadConfig({ KMSGW_CONFIG: write('config.yaml', content) });

describe('access configuration', () => {
  it('rate limits default to 5000 per second per principal and per key; one may be set alone', () => {
    expect(load({})().rateLimits).toEqual({ perPrincipal: { requests: 5000, perSeconds: 1 }, perKey: { requests: 5000, perSeconds: 1 } });
    expect(load({ rateLimits: { perKey: { requests: 10 } } })().rateLimits).toEqual({ perPrincipal: { requests: 5000, perSeconds: 1 }, perKey: { requests: 10, perSeconds: 1 } });
    expect(load({ rateLimits: { perKey: { requests: -1 } } })).toThrow(/rateLimits\.perKey\.requests/);
  });

  it('client certificates need a client CA; TLS paths are relative to the file', () => {
    expect(load({ auth: { mtls: { clients: [] } }, tls: { certFile: 'a.crt', keyFile: 'a.key' } })).toThrow(/auth\.mtls needs tls\.clientCaFile/);
    const config = load({ tls: { certFile: 'a.crt', keyFile: 'a.key', clientCaFile: 'ca.crt' } })();
    expect(config.tls!.certFile).toMatch(/^\/.*kmsgw-config-.*\/a\.crt$/);
    expect(config.mtls).toEqual({ clients: [] });
    expect(load({ auth: { mtls: { clients: [{ subject: 'x', roles: ['root'] }] } }, tls: { certFile: 'a', keyFile: 'b', clientCaFile: 'c' } })).toThrow(/auth\.mtls\.clients\.0\.roles\.0/);
  });

  it('a governance rule set with a mistake is refused naming the field', () => {
    expect(() => loadRuleSet(write('rules.yaml', { name: 'x', specs: { allowed: ['DES'] } }))).toThrow(/invalid governance rule set.*\n {2}specs\.allowed\.0/);
    expect(() => loadRuleSet(write('rules.yaml', { name: 'x', deletion: { minWindowDays: 3 } }))).toThrow(/deletion\.minWindowDays/);
    expect(() => loadRuleSet('/nonexistent/rules.yaml')).toThrow(/cannot be read \(ENOENT\)/);
  });
});
