// OIDC bearer tokens against a real JWKS endpoint (a local HTTP server publishing the issuer's
// public key, found through the discovery document): a valid token authenticates with the roles
// and groups of its claims; a wrong audience, issuer, signature or an expired token is 401.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { startGateway, b64, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
let server: Server;
let issuer: string;
let jwksRequests = 0;
const signingKey = await generateKeyPair('ES256');
const strangerKey = await generateKeyPair('ES256');

beforeAll(async () => {
  const jwk = { ...(await exportJWK(signingKey.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    if (req.url === '/jwks') { jwksRequests++; return res.end(JSON.stringify({ keys: [jwk] })); }
    res.statusCode = 404;
    res.end('{}');
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await startGateway({ config: { auth: { oidc: { issuer, audience: 'kms-gateway', clockToleranceSeconds: 5 } } } });
});
afterAll(async () => {
  await gw.close();
  server.close();
});

const token = (claims: JWTPayload, options: { key?: CryptoKey; expiresIn?: string | number; audience?: string; issuer?: string } = {}) =>
  new SignJWT({ roles: ['crypto-user'], groups: ['payments'], ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('alice').setIssuedAt()
    .setIssuer(options.issuer ?? issuer).setAudience(options.audience ?? 'kms-gateway').setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? signingKey.privateKey);

describe('OIDC bearer tokens', () => {
  it('a valid token authenticates as oidc:<sub> with the roles and groups of its claims', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { 'kmsgw:users': 'payments' } })).body.id;
    const auth = { authorization: `Bearer ${await token({})}` };
    const res = await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('hi') }, auth);
    expect(res.status).toBe(200);
    expect((await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' }, auth)).status).toBe(403);
    const events = (await gw.call('GET', '/v1/audit/events?principal=oidc:alice', undefined, { authorization: `Bearer ${(await gw.apiKey(['auditor'])).secret}` })).body.events;
    expect(events[0]).toMatchObject({ principal: 'oidc:alice', authMethod: 'oidc', action: 'encrypt', decision: 'allow' });
  });

  it('roles the gateway does not know are ignored, not trusted', async () => {
    const res = await gw.call('GET', '/v1/keys', undefined, { authorization: `Bearer ${await token({ roles: ['superuser', 'read-only'] })}` });
    expect(res.status).toBe(200);
    expect((await gw.call('POST', '/v1/api-keys', { name: 'x', roles: ['administrator'] }, { authorization: `Bearer ${await token({ roles: ['superuser'] })}` })).status).toBe(403);
  });

  it('a token for another audience, from another issuer, signed by another key or expired is 401', async () => {
    const bad = [
      await token({}, { audience: 'someone-else' }),
      await token({}, { issuer: 'https://evil.example' }),
      await token({}, { key: strangerKey.privateKey }),
      await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
    ];
    for (const t of bad) {
      const res = await gw.call('GET', '/v1/keys', undefined, { authorization: `Bearer ${t}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('the key set is fetched once and cached', async () => {
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) await gw.call('GET', '/v1/keys', undefined, { authorization: `Bearer ${await token({ roles: ['read-only'], n: i })}` });
    expect(jwksRequests - before).toBe(0);
    expect(jwksRequests).toBe(1);
  });
});
