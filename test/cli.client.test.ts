// The operator CLI against a gateway listening on loopback, run as a user runs it (a child
// process): keys create/list/show/rotate/suspend/delete, encrypt and decrypt of files and stdin,
// discovery against the AWS emulator, the inventory export, and the exit statuses scripts rely on.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeader } from '../src/dr/bundle.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { callerWrap } from './support/import.ts';
import { runKmsgw, type CliRun } from './support/cli.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');

let gw: TestGateway;
let server: ServerType;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'kmsgw-cli-'));

beforeAll(async () => {
  gw = await startGateway({ config: { connections: [{ name: 'local', provider: 'local' }, { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'eu-west-1', endpoint }] } });
  await gw.runtime.jobs.start();
  server = serve({ fetch: gw.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await gw?.close();
});

/** Runs `kmsgw …`; resolves its exit status and output. */
const kmsgw = (args: string[], options: { stdin?: Buffer; env?: Record<string, string> } = {}): Promise<CliRun> =>
  runKmsgw(args, { KMSGW_URL: url, KMSGW_API_KEY: gw.secret, ...options.env }, options.stdin);

describe('kmsgw CLI', { timeout: 60_000 }, () => {
  let id: string;

  it('creates a key, lists it in a table and shows it', async () => {
    const made = await kmsgw(['keys', 'create', '--spec', 'AES_256', '--usage', 'ENCRYPT_DECRYPT', '--alias', 'cli-orders', '--tag', 'owner=orders']);
    expect(made.code, made.stderr).toBe(0);
    id = made.stdout.toString().trim();
    expect(id).toMatch(/^key_[0-9a-z]{26}$/);
    const list = await kmsgw(['keys', 'list', '--owner', 'orders']);
    expect(list.code).toBe(0);
    expect(list.stdout.toString()).toContain(id);
    expect(list.stdout.toString()).toContain('cli-orders');
    const json = JSON.parse((await kmsgw(['keys', 'list', '--owner', 'orders', '--json'])).stdout.toString());
    expect(json.map((k: any) => k.id)).toEqual([id]);
    const listed = async (...states: string[]) => JSON.parse((await kmsgw(['keys', 'list', '--owner', 'orders', '--state', ...states, '--json'])).stdout.toString()).map((k: any) => k.id);
    expect(await listed('SUSPENDED', 'ACTIVE')).toEqual([id]);
    expect(await listed('SUSPENDED', 'DESTROYED')).toEqual([]);
    const show = await kmsgw(['keys', 'show', 'alias/cli-orders']);
    expect(show.stdout.toString()).toMatch(/state\s*│\s*ACTIVE/);
  });

  it('encrypts a file and decrypts it from stdin, context and all; a wrong context is refused with status 1', async () => {
    const plain = Buffer.from('a file of bytes \x00\x01\x02 and text');
    writeFileSync(join(dir, 'plain'), plain);
    const sealed = await kmsgw(['encrypt', 'alias/cli-orders', '--in', join(dir, 'plain'), '--out', join(dir, 'sealed'), '--context', 'order=42']);
    expect(sealed.code, sealed.stderr).toBe(0);
    const opened = await kmsgw(['decrypt', '--context', 'order=42'], { stdin: readFileSync(join(dir, 'sealed')) });
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout.equals(plain)).toBe(true);
    const wrong = await kmsgw(['decrypt', '--in', join(dir, 'sealed'), '--context', 'order=43']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^kmsgw: 400 INVALID_ARGUMENT: /);
  });

  it('encrypts to AWS\'s native ciphertext and says what decrypting it takes; decrypt --native opens it, and refuses half its flags', async () => {
    const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' })).body.id as string;
    writeFileSync(join(dir, 'native-plain'), 'to AWS itself');
    const sealed = await kmsgw(['encrypt', key, '--native', '--in', join(dir, 'native-plain'), '--out', join(dir, 'native-sealed'), '--context', 'order=7']);
    expect(sealed.code, sealed.stderr).toBe(0);
    const how = /decrypt with (--native --key \S+ --version \d+ --connection \S+)/.exec(sealed.stderr);
    expect(how?.[1]).toBe(`--native --key ${key} --version 1 --connection aws`);
    const opened = await kmsgw(['decrypt', ...how![1]!.split(' '), '--in', join(dir, 'native-sealed'), '--context', 'order=7']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout.toString()).toBe('to AWS itself');
    const half = await kmsgw(['decrypt', '--native', '--key', key, '--in', join(dir, 'native-sealed')]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--native needs --key and --version');
  });

  it('makes a key of the caller\'s own material (--material, --wrapping-key), and rotates it with more', async () => {
    const wrapping = (await gw.call('POST', '/v1/keys', { spec: 'RSA_3072', usage: 'WRAP_UNWRAP' })).body.id as string;
    const pem = (await gw.call('GET', `/v1/keys/${wrapping}/public-key`)).body.publicKey as string;
    writeFileSync(join(dir, 'wrapped.key'), callerWrap(pem, randomBytes(32)));
    const made = await kmsgw(['keys', 'create', '--spec', 'AES_256', '--usage', 'ENCRYPT_DECRYPT', '--material', join(dir, 'wrapped.key'), '--wrapping-key', wrapping]);
    expect(made.code, made.stderr).toBe(0);
    const imported = made.stdout.toString().trim();
    expect((await gw.call('GET', `/v1/keys/${imported}`)).body.origin).toBe('IMPORTED');
    const alone = await kmsgw(['keys', 'create', '--spec', 'AES_256', '--usage', 'ENCRYPT_DECRYPT', '--material', join(dir, 'wrapped.key')]);
    expect(alone.code).toBe(2);
    expect((await kmsgw(['keys', 'rotate', imported])).stderr).toContain('rotate it with new material of yours');
    writeFileSync(join(dir, 'wrapped.key'), callerWrap(pem, randomBytes(32)));
    const rotated = await kmsgw(['keys', 'rotate', imported, '--material', join(dir, 'wrapped.key'), '--wrapping-key', wrapping]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout.toString()).toContain('ACTIVE, version 2');
  });

  it('rotates, suspends and schedules deletion; the state refuses what it must', async () => {
    expect((await kmsgw(['keys', 'rotate', id])).stdout.toString()).toContain('ACTIVE, version 2');
    expect((await kmsgw(['keys', 'suspend', id])).stdout.toString()).toContain('SUSPENDED');
    const refused = await kmsgw(['encrypt', id], { stdin: Buffer.from('x') });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('409 FAILED_PRECONDITION');
    const deleted = await kmsgw(['keys', 'delete', id, '--days', '7']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.toString()).toContain('PENDING_DELETION');
  });

  it('discovers a connection to the end and reports what it found', async () => {
    const run = await kmsgw(['discover', 'aws']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.toString()).toMatch(/^job_[0-9a-z]{26} SUCCEEDED: \d+ keys seen/);
    expect((await kmsgw(['discover', 'local'])).code).toBe(1);
  });

  it('syncs a key to the end of its job and reports what it did', async () => {
    const made = await kmsgw(['keys', 'create', '--spec', 'AES_256', '--usage', 'ENCRYPT_DECRYPT', '--connection', 'aws']);
    const run = await kmsgw(['keys', 'sync', made.stdout.toString().trim()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.toString()).toMatch(/^job_[0-9a-z]{26} SUCCEEDED: 0 replica versions made, 0 envelopes repaired/);
    expect((await kmsgw(['keys', 'sync', 'alias/none-such'])).code).toBe(1);
  });

  it('adds a replica to a key and follows the sync job that makes it', async () => {
    const made = (await kmsgw(['keys', 'create', '--spec', 'AES_256', '--usage', 'ENCRYPT_DECRYPT', '--connection', 'aws'])).stdout.toString().trim();
    const run = await kmsgw(['keys', 'add-replica', made, 'local']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.toString()).toMatch(/^job_[0-9a-z]{26} SUCCEEDED: 1 replica versions made/);
    expect(run.stdout.toString()).toContain('note: local: replica with version 1 made');
    const shown = (await kmsgw(['keys', 'show', made])).stdout.toString();
    expect(shown).toMatch(/replica.*local +local:/);
    const again = await kmsgw(['keys', 'add-replica', made, 'local']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 ALREADY_EXISTS');
  });

  it('exports the inventory as CSV to a file', async () => {
    const run = await kmsgw(['inventory', 'export', '--provider', 'local', '--owner', 'orders', '--out', join(dir, 'inventory.csv')]);
    expect(run.code, run.stderr).toBe(0);
    const lines = readFileSync(join(dir, 'inventory.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^id,aliases,spec/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([id]);
  });

  it('downloads a backup bundle from the running gateway into a 0600 file; a refused backup key writes nothing', async () => {
    const make = async (body: object) => (await gw.call('POST', '/v1/keys', body)).body.id as string;
    const enc = await make({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
    const sig = await make({ spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' });
    const local = await make({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
    const out = join(dir, 'downloaded.kmsgw');
    const refused = await kmsgw(['backup', 'download', '--encryption-key', local, '--signing-key', sig, '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('409 FAILED_PRECONDITION');
    expect(existsSync(out)).toBe(false);
    const run = await kmsgw(['backup', 'download', '--encryption-key', enc, '--signing-key', sig, '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout.toString());
    expect(printed).toMatchObject({ id: expect.stringMatching(/^bak_/), file: out, materials: 0 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(await readHeader(out)).toMatchObject({ format: 'kmsgw-backup/2', id: printed.id, contents: { keys: printed.keys } });
  });

  it('exits 2 on bad usage or no API key, and 3 when the gateway cannot be reached', async () => {
    expect((await kmsgw(['keys', 'create', '--usage', 'MAC'])).code).toBe(2);
    expect((await kmsgw(['keys', 'list'], { env: { KMSGW_API_KEY: '' } })).code).toBe(2);
    const away = await kmsgw(['keys', 'list'], { env: { KMSGW_URL: 'http://127.0.0.1:65534' } });
    expect(away.code).toBe(3);
    expect(away.stderr).toContain('cannot be reached');
    expect((await kmsgw(['keys', 'list'], { env: { KMSGW_API_KEY: 'kmsgw_wrong' } })).code).toBe(1);
  });
});
