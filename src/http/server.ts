// The listening server: plain HTTP, or HTTPS when TLS files are configured. With a client CA the
// handshake asks for a client certificate but does not insist (API keys and tokens still work);
// the request's authentication uses the certificate only if the CA verified it.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { serve, type ServerType } from '@hono/node-server';
import { ConfigError, type Config } from '../config.ts';
import type { App } from './app.ts';

export function listen(app: App, config: Pick<Config, 'host' | 'port' | 'tls'>, onListening: (info: { address: string; port: number; tls: boolean }) => void): ServerType {
  const { tls } = config;
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`invalid configuration: tls.${what} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
    }
  };
  const https = tls && {
    createServer: createHttpsServer,
    serverOptions: {
      cert: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile),
      ...(tls.clientCaFile && { ca: read('clientCaFile', tls.clientCaFile), requestCert: true, rejectUnauthorized: false }),
    },
  };
  return serve({ fetch: app.fetch, hostname: config.host, port: config.port, ...https }, (info) => onListening({ address: info.address, port: info.port, tls: !!tls }));
}
