// Every authenticated route is defined here: `defineRoute` is createRoute plus a first middleware
// that names the request's operation (its operationId, which is also its Cedar action),
// authenticates the caller (401 with WWW-Authenticate otherwise) and, for operations on the
// gateway rather than on one key, decides access at once. Operations on a key are decided by the
// key services once the key is loaded. A request presenting an approval (Kmsgw-Approval) claims it
// here and gives it back if it fails. Public routes (health, docs) use createRoute directly.
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { KmsError } from '../errors.ts';
import type { AppEnv } from './app.ts';
import { problemResponse } from './problem.ts';
import { APPROVAL_HEADER } from '../policy/approvals.ts';
import { peerCertificate } from './middleware/request-context.ts';

const REALM = 'Bearer realm="kms-gateway"';

export type Scope = 'key' | 'gateway';

export function defineRoute<R extends Omit<RouteConfig, 'middleware'> & { operationId: string }>(route: R, scope: Scope = 'key') {
  return createRoute({ ...route, security: [{ bearer: [] }], middleware: [operation({ id: route.operationId, scope })] as const });
}

export function operation(options: { id: string; scope: Scope }): MiddlewareHandler<AppEnv> {
  const { id, scope } = options;
  return async function operationMiddleware(c, next) {
    const services = c.get('services');
    const actor = c.get('actor');
    actor.operation = id;
    const auth = await services.auth.authenticate(c.req.header('authorization'), () => peerCertificate(c));
    if ('failure' in auth) {
      actor.record.decision = 'deny';
      actor.record.reasons = [auth.failure === 'missing' ? 'no-credentials' : 'invalid-credentials'];
      const message = auth.failure === 'missing' ? 'this operation needs credentials: Authorization: Bearer <API key or token>, or a client certificate' : 'the credentials are not valid (unknown, revoked or expired)';
      return problemResponse(c, new KmsError('UNAUTHENTICATED', message), { 'WWW-Authenticate': auth.failure === 'missing' ? REALM : `${REALM}, error="invalid_token"` });
    }
    actor.identity = auth.identity;
    services.access.checkRate(actor);
    const approval = c.req.header(APPROVAL_HEADER);
    if (approval !== undefined) {
      if (!/^apr_[0-9a-z]{26}$/.test(approval)) throw new KmsError('INVALID_ARGUMENT', `${APPROVAL_HEADER} must be an approval request id (apr_…)`, { field: APPROVAL_HEADER });
      await services.approvals.claim(actor, approval, c.req.param('id') ?? '');
    }
    let failed = true;
    try {
      if (scope === 'gateway') services.access.checkGateway(actor);
      await next();
      failed = c.res.status >= 400;
    } finally {
      // An approval is spent only by a request that succeeds.
      if (failed) await services.approvals.release(actor);
    }
  };
}
