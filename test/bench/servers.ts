// Starting the servers a benchmark loads, each as its own process on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../support/ports.ts';

/** Starts a server on a free port and waits until it answers. */
export async function start(args: string[], env: Record<string, string>, probe: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (let i = 0; i < 600 && !exited; i++) {
    const up = await fetch(`http://127.0.0.1:${port}${probe}`).then((r) => r.ok, () => false);
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${args[0]} did not start`);
}

export async function post(port: number, path: string, body: unknown, authorization?: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body: JSON.stringify(body) });
  return res.json() as Promise<any>;
}

/**
 * The gateway as an operator runs it, with the bench's principals: an administrator (the bootstrap
 * key) makes the keys, tagged for group `bench`, and a crypto user in that group uses them, so every
 * request pays for authentication, the access decision and its audit event.
 */
export async function startGateway(env: Record<string, string>) {
  const admin = `Bearer kmsgw_${randomBytes(32).toString('base64url')}`;
  const server = await start(['src/cli/kmsgw.ts', 'serve'], { ...env, KMSGW_BOOTSTRAP_ADMIN_KEY: admin.slice(7) }, '/readyz');
  const user = await post(server.port, '/v1/api-keys', { name: 'bench', roles: ['crypto-user'], groups: ['bench'] }, admin);
  return {
    ...server,
    authorization: `Bearer ${user.secret as string}`,
    admin,
    createKey: async (body: Record<string, unknown>) => (await post(server.port, '/v1/keys', { ...body, tags: { 'kmsgw:users': 'bench' } }, admin)).id as string,
  };
}


/**
 * Writes a bench gateway's configuration file into `dir`. Scheduled discovery and compliance scans
 * are off: the first pass starts with the gateway, and over a long-lived emulator's or token's keys
 * it would share the backend with the requests being measured.
 */
export function gatewayConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify({ inventory: { discoverEverySeconds: 0, complianceScanEverySeconds: 0 }, ...config }));
  return file;
}
