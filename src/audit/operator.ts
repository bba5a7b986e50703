// Audit records of commands an operator runs on the gateway's host, outside any HTTP request:
// they enter the same chain as the API's, under the operator's principal (`cli:<user>`).
import { appendAuditEvents } from '../db/queries/audit.ts';
import type { Db } from '../db/client.ts';
import { newId } from '../ids.ts';

export async function auditOperatorAction(db: Db, principal: string, action: string, detail: Record<string, string>): Promise<void> {
  await appendAuditEvents(db, [{
    id: newId('aud'), at: new Date(), requestId: newId('req'), principal, authMethod: 'system', action, route: `kmsgw ${action}`,
    keyId: null, keyVersion: null, connection: null, decision: 'allow', reasons: [], status: 200, outcome: 'OK', breakGlass: false, detail,
  }]);
}

export const operatorPrincipal = (): string => `cli:${process.env.USER ?? 'operator'}`;
