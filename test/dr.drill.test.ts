// The DR drill, against a gateway with keys on AWS (the msw wire fixture) and on two local stores:
// keys with a replica outside the connection taken away are proven usable by a live round trip;
// keys that live only there are reported at risk, with the reason and the fix.
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drill } from '../src/dr/drill.ts';
import { awsKmsFixture } from './fixtures/aws-kms.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

const endpoint = 'https://kms.eu-west-1.amazonaws.com';
const server = setupServer(awsKmsFixture(endpoint, 'eu-west-1').handler);
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

let gw: TestGateway;
const ids: Record<string, string> = {};
beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  gw = await startGateway({ config: { connections: [
    { name: 'local', provider: 'local' },
    { name: 'aws', provider: 'aws', region: 'eu-west-1', endpoint, timeoutMs: 300, deadlineMs: 600 },
    { name: 'local-b', provider: 'local' },
  ] } });
  const make = async (name: string, body: Record<string, unknown>) => {
    const res = await gw.call('POST', '/v1/keys', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids[name] = res.body.id;
  };
  await make('replicated', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws', replicas: ['local-b'] });
  await make('awsOnly', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
  await make('awsSigner', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' });
  await make('localSigner', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'local' });
  await make('localMac', { spec: 'HMAC_256', usage: 'MAC', connection: 'local' });
  await make('localWrap', { spec: 'AES_256', usage: 'WRAP_UNWRAP', connection: 'local' });
});
afterAll(async () => { await gw?.close(); server.close(); });

const run = (without: string) => drill(gw.database.db, gw.runtime.connections, without);
const verdicts = (findings: Awaited<ReturnType<typeof run>>) => Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, findings.find((f) => f.keyId === id)?.verdict]));

describe('dr drill', () => {
  it('without AWS: the replicated key is proven on its replica; keys only in AWS are at risk, with why and what to do', async () => {
    // AWS is really gone for the drill: a probe that reached it would fail.
    server.use(http.post(`${endpoint}/`, () => HttpResponse.error()));
    try {
      const findings = await run('aws');
      expect(verdicts(findings)).toEqual({ replicated: 'usable', awsOnly: 'at-risk', awsSigner: 'at-risk', localSigner: 'usable', localMac: 'usable', localWrap: 'usable' });
      expect(findings.find((f) => f.keyId === ids.replicated)).toMatchObject({ via: 'local-b' });
      expect(findings.find((f) => f.keyId === ids.awsOnly)).toMatchObject({ reason: 'every binding is on "aws"', fix: expect.stringContaining('replicas') });
    } finally {
      server.resetHandlers();
    }
  });

  it('without the local store, everything else is proven live, AWS included', async () => {
    const findings = await run('local');
    expect(verdicts(findings)).toEqual({ replicated: 'usable', awsOnly: 'usable', awsSigner: 'usable', localSigner: 'at-risk', localMac: 'at-risk', localWrap: 'at-risk' });
  });

  it('a remaining binding that does not answer makes its key at risk, not usable', async () => {
    server.use(http.post(`${endpoint}/`, () => HttpResponse.error()));
    try {
      const findings = await run('local-b');
      expect(verdicts(findings)).toMatchObject({ awsOnly: 'at-risk', replicated: 'at-risk' });
      expect(findings.find((f) => f.keyId === ids.awsOnly)!.reason).toMatch(/no remaining binding answered \(aws: /);
    } finally {
      server.resetHandlers();
    }
  });

  it('an unknown connection is refused', async () => {
    await expect(run('nowhere')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
