// The audit hash chain: each event's hash is SHA-256 over the previous event's hash and the event's
// canonical encoding, a JSON array of its fields in one fixed order. Writer and verifier both use
// this one function, so what is checked is exactly what was written.
import { createHash } from 'node:crypto';

/** What one request leaves in the audit trail; never plaintext, ciphertext or key material. */
export interface AuditEvent {
  id: string;
  at: Date;
  requestId: string;
  principal: string;
  authMethod: string;
  action: string | null;
  route: string;
  keyId: string | null;
  keyVersion: number | null;
  connection: string | null;
  decision: 'allow' | 'deny';
  reasons: string[];
  status: number;
  outcome: string;
  breakGlass: boolean;
  detail: Record<string, string>;
}

/** The hash the first event chains to. */
export const GENESIS = '0'.repeat(64);

export function chainHash(prevHash: string, seq: number, e: AuditEvent): string {
  const detail = Object.keys(e.detail).sort().map((k) => [k, e.detail[k]]);
  const canonical = JSON.stringify([
    seq, e.id, e.at.toISOString(), e.requestId, e.principal, e.authMethod, e.action, e.route, e.keyId, e.keyVersion,
    e.connection, e.decision, e.reasons, e.status, e.outcome, e.breakGlass, detail,
  ]);
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}
