// The HTTP application factory: newApp(services) wires middleware, every route and the error
// handling; it holds no state of its own, so tests build as many apps as they like.
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { getPath } from 'hono/utils/url';
import type { Logger } from 'pino';
import { KmsError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { CryptoService } from '../keys/crypto.ts';
import type { Actor } from '../keys/model.ts';
import type { KeyService } from '../keys/service.ts';
import type { Database } from '../db/client.ts';
import { problemResponse, toKmsError } from './problem.ts';
import { jsonOnly } from './middleware/json-only.ts';
import { bodySizeLimit } from './middleware/body-size-limit.ts';
import { accessLog } from './middleware/access-log.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { registerRoutes } from './routes/index.ts';

export interface Services {
  keys: KeyService;
  crypto: CryptoService;
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
      const field = issue.path.join('.') || result.target;
      return problemResponse(c, new KmsError('INVALID_ARGUMENT', `${field}: ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`, { field }));
    },
  });

  app.use(requestId({ generator: () => newId('req'), headerName: 'X-Request-Id' }));
  app.use(accessLog({ logger: services.logger }));
  app.use(async (c, next) => {
    c.set('services', services);
    // Authentication replaces this principal once it lands; until then every caller is anonymous.
    c.set('actor', { principal: 'anonymous', requestId: c.get('requestId') });
    await next();
  });
  app.use(bodySizeLimit({
    maxBytes: options.maxBodyBytes,
    onError: (c) => problemResponse(c, new KmsError('RESOURCE_EXHAUSTED', `request body is larger than ${options.maxBodyBytes} bytes`, { status: 413 })),
  }));
  app.use(jsonOnly());

  registerRoutes(app);

  app.notFound(methodNotAllowed({ routes: () => app.routes }));
  app.onError((err, c) => {
    const e = toKmsError(err);
    if (e.status >= 500) services.logger.error({ err, requestId: c.get('requestId') }, 'request failed');
    return problemResponse(c, e);
  });
  return app;
}
