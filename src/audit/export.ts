// Audit events for a SIEM: JSON lines (one event per line, as stored, hashes included) or syslog
// (RFC 5424, facility authpriv, severity info for allowed and warning for denied requests, the
// event's fields as structured data). 32473 is the private enterprise number RFC 5612 reserves
// for documentation; SD-IDs with it are valid on the wire, and a SIEM parses them by name.
import { hostname } from 'node:os';
import type { AuditRow } from '../db/queries/audit.ts';

const AUTHPRIV = 10;
const host = hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';

export function toJsonLine(r: AuditRow): string {
  return `${JSON.stringify({ ...r, at: r.at.toISOString() })}\n`;
}

export function toSyslog(r: AuditRow): string {
  const pri = AUTHPRIV * 8 + (r.decision === 'allow' ? 6 : 4);
  const params: [string, string | number | boolean | null][] = [
    ['seq', r.seq], ['id', r.id], ['requestId', r.requestId], ['principal', r.principal], ['authMethod', r.authMethod], ['route', r.route],
    ['keyId', r.keyId], ['keyVersion', r.keyVersion], ['connection', r.connection], ['decision', r.decision], ['reasons', r.reasons.join(',')],
    ['status', r.status], ['outcome', r.outcome], ['breakGlass', r.breakGlass], ['hash', r.hash],
    ...Object.entries(r.detail).map(([k, v]) => [`detail.${k}`, v] as [string, string]),
  ];
  const sd = params.filter(([, v]) => v !== null && v !== '').map(([k, v]) => `${k}="${sdEscape(String(v))}"`).join(' ');
  const msgId = (r.action ?? 'unauthenticated').slice(0, 32);
  return `<${pri}>1 ${r.at.toISOString()} ${host} kms-gateway - ${msgId} [audit@32473 ${sd}] ${oneLine(r.principal)} ${r.action ?? r.route}: ${r.decision} ${r.status}\n`;
}

/**
 * RFC 5424 §6.3.3: inside PARAM-VALUE, '"', '\' and ']' are escaped with '\'. Control characters and
 * line separators are written as \xNN or \uNNNN: the export is one event per line, and a line break
 * in a value (an OIDC subject, a certificate's name) would forge the next event for a SIEM.
 */
const sdEscape = (v: string) => oneLine(v.replace(/["\\\]]/g, (ch) => `\\${ch}`));
const oneLine = (v: string) => v.replace(/[\p{Cc}\u2028\u2029]/gu, (ch) => {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
});
