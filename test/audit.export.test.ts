// The audit export for a SIEM is one event per line: no value, whoever chose it, may break a line and
// forge an event after it.
import { describe, expect, it } from 'vitest';
import { toJsonLine, toSyslog } from '../src/audit/export.ts';
import type { AuditRow } from '../src/db/queries/audit.ts';

const forged = '\n<86>1 2026-12-06T00:00:00.000Z host kms-gateway - decrypt [audit@32473 seq="9"] admin decrypt: allow 200';
const row: AuditRow = {
  seq: 1, id: 'aud_01jd0000000000000000000000', at: new Date('2026-12-06T12:00:00Z'), requestId: 'req_01jd0000000000000000000000',
  principal: `oidc:someone${forged}`, authMethod: 'oidc', action: 'encrypt', route: 'POST /v1/keys/:key/encrypt', keyId: null, keyVersion: null,
  connection: null, decision: 'deny', reasons: ['default-deny'], status: 403, outcome: 'ERROR', breakGlass: false,
  detail: { note: `a "quoted] value\\${forged}`, tab: 'a\tb\r\u0085\u2028' }, prevHash: 'x', hash: 'y',
};

describe('audit export', () => {
  it('writes each event on one line in syslog, control characters and line separators escaped, the structured data escaped', () => {
    const line = toSyslog(row);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line).toContain('principal="oidc:someone\\x0a<86>1 2026-12-06T00:00:00.000Z');
    expect(line).toContain('detail.note="a \\"quoted\\] value\\\\\\x0a<86>1');
    expect(line).toContain('detail.tab="a\\x09b\\x0d\\x85\\u2028"');
    expect(line).toContain('] oidc:someone\\x0a<86>1 ');
  });

  it('writes each event on one line in JSON lines', () => {
    const line = toJsonLine(row);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line).principal).toBe(row.principal);
  });
});
