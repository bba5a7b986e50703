// Mutual TLS over a real HTTPS listener: a client certificate signed by the configured client CA
// authenticates as mtls:<CN> with the roles the configuration gives it; a certificate from another
// CA is refused; bearer credentials keep working over TLS without a certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerType } from '@hono/node-server';
import { listen } from '../src/http/server.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

const dir = mkdtempSync(join(tmpdir(), 'kmsgw-mtls-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A P-256 key and a certificate for `cn`, signed by `ca` (or self-signed, as a CA, when none). */
function certificate(name: string, cn: string, ca?: string, ext = 'extendedKeyUsage=clientAuth') {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  if (!ca) {
    openssl('x509', '-req', '-in', `${name}.csr`, '-signkey', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-extfile', writeExt(name, 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign'));
    return;
  }
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', writeExt(name, ext));
}
function writeExt(name: string, text: string): string {
  writeFileSync(file(`${name}.ext`), text);
  return `${name}.ext`;
}

let gw: TestGateway;
let server: ServerType;
let port: number;
let key: string;

beforeAll(async () => {
  certificate('ca', 'kmsgw test client CA');
  certificate('rogue-ca', 'someone else');
  certificate('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  certificate('payments', 'payments-app', 'ca');
  certificate('stranger', 'stranger-app', 'ca');
  certificate('impostor', 'payments-app', 'rogue-ca');
  gw = await startGateway({ config: { tls: { certFile: file('server.crt'), keyFile: file('server.key'), clientCaFile: file('ca.crt') }, auth: { mtls: { clients: [{ subject: 'payments-app', roles: ['crypto-user'], groups: ['payments'] }] } } } });
  key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { 'kmsgw:users': 'payments' } })).body.id;
  await new Promise<void>((resolve) => {
    server = listen(gw.app, { host: '127.0.0.1', port: 0, tls: { certFile: file('server.crt'), keyFile: file('server.key'), clientCaFile: file('ca.crt') } }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await gw.close();
});

function call(path: string, options: { client?: string; authorization?: string; body?: unknown } = {}): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request({
      host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', ca: readFileSync(file('ca.crt')),
      ...(options.client && { cert: readFileSync(file(`${options.client}.crt`)), key: readFileSync(file(`${options.client}.key`)) }),
      headers: { ...(body && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), ...(options.authorization && { authorization: options.authorization }) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('mutual TLS', () => {
  it('a client certificate from the client CA authenticates with the roles configured for its subject', async () => {
    const res = await call(`/v1/keys/${key}/encrypt`, { client: 'payments', body: { plaintext: b64('over mTLS') } });
    expect(res.status).toBe(200);
    const auditor = await gw.apiKey(['auditor']);
    const events = (await gw.call('GET', `/v1/audit/events?keyId=${key}&action=encrypt`, undefined, { authorization: `Bearer ${auditor.secret}` })).body.events;
    expect(events.at(-1)).toMatchObject({ principal: 'mtls:payments-app', authMethod: 'mtls', decision: 'allow', reasons: ['crypto-user-uses-its-keys'] });
  });

  it('a subject the configuration does not list is authenticated but has no roles: 403', async () => {
    const res = await call(`/v1/keys/${key}/encrypt`, { client: 'stranger', body: { plaintext: b64('x') } });
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/mtls:stranger-app/);
  });

  it('a certificate from another CA is refused with 401, whatever its subject', async () => {
    const res = await call(`/v1/keys/${key}/encrypt`, { client: 'impostor', body: { plaintext: b64('x') } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="kms-gateway", error="invalid_token"');
  });

  it('no certificate and no header is 401; an API key works over TLS without a certificate', async () => {
    expect((await call('/v1/keys')).status).toBe(401);
    expect((await call('/v1/keys', { authorization: `Bearer ${gw.secret}` })).status).toBe(200);
  });
});
