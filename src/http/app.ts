// The HTTP application factory: newApp(services) wires middleware, every route and the error
// handling; it holds no state of its own, so tests build as many apps as they like.
import { OpenAPIHono } from '@hono/zod-openapi';
import { getPath } from 'hono/utils/url';
import type { Logger } from 'pino';
import type { UsageRecorder } from '../inventory/usage.ts';
import type { Metrics } from '../metrics.ts';
import { KmsError } from '../errors.ts';
import type { CryptoService } from '../keys/crypto.ts';
import type { Actor } from '../keys/model.ts';
import type { Governance } from '../governance/governance.ts';
import type { Approvals } from '../policy/approvals.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { KeyService } from '../keys/service.ts';
import type { Database } from '../db/client.ts';
import type { Connections } from '../routing/connection.ts';
import { problemResponse, toKmsError } from './problem.ts';
import { requestContext } from './middleware/request-context.ts';
import { audit } from './middleware/audit.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Access } from '../policy/access.ts';
import type { PolicyStore } from '../policy/store.ts';
import type { AuditLog } from '../audit/log.ts';
import { bodyGuard } from './middleware/body-guard.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { registerRoutes } from './routes/index.ts';

export interface Services {
  keys: KeyService;
  crypto: CryptoService;
  connections: Connections;
  auth: Authenticator;
  access: Access;
  governance: Governance;
  approvals: Approvals;
  inventory: Inventory;
  policies: PolicyStore;
  audit: AuditLog;
  usage: UsageRecorder;
  metrics: Metrics;
  database: Database;
  logger: Logger;
}

export type AppEnv = { Variables: { services: Services; requestId: string; actor: Actor } };
export type App = OpenAPIHono<AppEnv>;

export interface AppOptions { maxBodyBytes: number }

export function newApp(services: Services, options: AppOptions = { maxBodyBytes: 1024 * 1024 }): App {
  const app: App = new OpenAPIHono<AppEnv>({
    // `alias/NAME` names one key: fold its slash so that it stays one path segment.
    getPath: (req) => getPath(req).replace(/^\/v1\/keys\/alias\//, '/v1/keys/alias%2F'),
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0]!;
      // A record's bad key (a tag's, a context entry's): the record is the field and the key's own
      // rule the message, rather than zod's "invalid key in record" at a path ending in the key.
      const [path, message] = issue.code === 'invalid_key' ? [issue.path.slice(0, -1), `a key ${issue.issues[0]!.message}`] : [issue.path, issue.message];
      // A query parameter is named as sent, whichever of its repeats is at fault.
      const field = (result.target === 'query' ? path.slice(0, 1) : path).join('.') || result.target;
      return problemResponse(c, new KmsError('INVALID_ARGUMENT', `${field}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`, { field }));
    },
  });

  app.use(requestContext({ services }));
  app.use(audit({ log: services.audit }));
  app.use(bodyGuard({ maxBytes: options.maxBodyBytes }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API key (kmsgw_…) or an OIDC access token' });
  registerRoutes(app);

  app.notFound(methodNotAllowed({ routes: () => app.routes }));
  app.onError((err, c) => {
    const e = toKmsError(err);
    if (e.status >= 500) services.logger.error({ err, requestId: c.get('requestId') }, 'request failed');
    return problemResponse(c, e);
  });
  return app;
}
