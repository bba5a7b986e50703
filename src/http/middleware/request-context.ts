// Per-request context in one middleware: a request id (echoed as X-Request-Id), the services and
// the actor for handlers, and one access-log line at the end — method, route pattern (never the
// raw path, which may carry aliases), status, duration. Bodies are never logged.
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { PeerCertificate } from '../../auth/mtls.ts';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { newId } from '../../ids.ts';
import { anonymous } from '../../auth/identity.ts';
import type { AppEnv, Services } from '../app.ts';

export function requestContext(options: { services: Services }): MiddlewareHandler<AppEnv> {
  const { services } = options;
  const { logger } = services;
  return async function requestContextMiddleware(c, next) {
    const start = performance.now();
    const requestId = newId('req');
    c.set('requestId', requestId);
    c.set('services', services);
    // Anonymous until an operation's middleware authenticates the caller.
    c.set('actor', { identity: anonymous, requestId, ip: clientAddress(c), record: {} });
    // Before next(): a header set on a finished response makes hono rebuild it, off node-server's fast path.
    c.header('X-Request-Id', requestId);
    await next();
    if (logger.isLevelEnabled('info')) {
      logger.info({ requestId, method: c.req.method, route: routePath(c), status: c.res.status, ms: Math.round((performance.now() - start) * 100) / 100 }, 'request');
    }
  };
}

const incomingOf = (c: Context<AppEnv>) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

/** The peer's address when served by node-server; in-process requests (tests) have none. */
function clientAddress(c: Context<AppEnv>): string | undefined {
  return incomingOf(c)?.socket.remoteAddress?.replace(/^::ffff:/, '');
}

/** The client's certificate on a TLS connection that asked for one; none otherwise. */
export function peerCertificate(c: Context<AppEnv>): PeerCertificate | undefined {
  const socket = incomingOf(c)?.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN;
  return { authorized: socket.authorized, subject: Array.isArray(cn) ? cn.join(',') : cn ?? '', validTo: new Date(cert.valid_to) };
}
