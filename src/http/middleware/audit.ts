// The audit step of every operation: after the handler, the request becomes one event (who, which
// operation on which key and version, the decision and its reasons, the outcome) and the reply
// waits until that event is committed. Should the audit trail be unwritable, the reply is 503
// rather than a success nobody recorded. Routes without an operation (health, docs) are not audited.
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { KmsError } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { AppEnv } from '../app.ts';
import { problemResponse } from '../problem.ts';

export function audit(options: { log: AuditLog }): MiddlewareHandler<AppEnv> {
  const { log } = options;
  return async function auditMiddleware(c, next) {
    await next();
    const actor = c.get('actor');
    if (!actor.operation) return;
    const { identity, record } = actor;
    const breakGlass = identity.roles.includes('break-glass') && record.decision === 'allow';
    try {
      await log.append({
        id: newId('aud'), at: new Date(), requestId: actor.requestId, principal: identity.principal, authMethod: identity.authMethod,
        action: actor.operation, route: `${c.req.method} ${routePath(c)}`, keyId: record.keyId ?? null, keyVersion: record.keyVersion ?? null,
        connection: record.connection ?? null, decision: record.decision ?? 'deny', reasons: record.reasons ?? [], status: c.res.status,
        outcome: record.outcome ?? (c.res.status < 400 ? 'OK' : 'ERROR'), breakGlass, detail: { ...record.detail, ...(actor.ip && { ip: actor.ip }) },
      });
    } catch (err) {
      c.get('services').logger.error({ err, requestId: actor.requestId }, 'audit event could not be written');
      c.res = problemResponse(c, new KmsError('UNAVAILABLE', 'the audit trail cannot be written; the request\'s effect may have been applied: retry with the same Idempotency-Key'));
    }
    // Counted as answered: a use the audit trail could not record is a 503, not a use.
    const { usage, metrics } = c.get('services');
    metrics.requests.inc({ operation: actor.operation, code: c.res.status });
    if (c.res.status < 400 && record.keyId && record.connection) usage.record(actor.operation, record.keyId, record.connection);
  };
}
