// The web UI end to end, in Debian's Chromium driven by playwright-core (deploy/chromium.sh
// installs it; nothing is downloaded): sign in with an API key, filter the inventory to one
// provider and state, open the key, see its versions and audit trail, rotate it and see the new
// version; the dashboard draws its charts. axe-core checks each page's markup for serious
// accessibility faults. Screenshots go to .run/screenshots as test artifacts.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished } from './support/inventory.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');
const browserPath = process.env.KMSGW_CHROMIUM ?? '/usr/bin/chromium';
const shots = `.run/screenshots/${process.env.KMSGW_TEST_DB}`;
const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** What the page logged as errors (a script the content security policy blocked, say). */
const pageErrors: string[] = [];

let gw: TestGateway;
let server: ServerType;
let browser: Browser;
let page: Page;
let base: string;
let user: { secret: string };
let target: string;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  gw = await startGateway({ config: { connections: [{ name: 'local', provider: 'local' }, { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'eu-west-1', endpoint }] } });
  const make = async (body: Record<string, unknown>) => (await gw.call('POST', '/v1/keys', body)).body.id as string;
  await make({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', tags: { owner: 'payments' } });
  await make({ spec: 'EC_P256', usage: 'SIGN_VERIFY' });
  const suspended = await make({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
  await gw.call('POST', `/v1/keys/${suspended}/suspend`);
  target = await make({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws', aliases: ['orders'], tags: { owner: 'orders' } });
  await gw.call('POST', `/v1/keys/${target}/encrypt`, { plaintext: Buffer.from('x').toString('base64') });
  await gw.runtime.jobs.start();
  // A security engineer: manages keys and reads the audit trail.
  user = await gw.apiKey(['administrator', 'auditor']);
  server = serve({ fetch: gw.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('401')) pageErrors.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gw?.close();
});

async function accessible(where: string) {
  // Evaluated through the browser's debugging protocol, which the page's CSP does not govern.
  await page.evaluate(axe);
  const violations = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical').map((v: any) => `${v.id}: ${v.help}`);
  });
  expect(violations, where).toEqual([]);
}

describe('web UI', { timeout: 60_000 }, () => {
  it('refuses a wrong API key, then signs in with a right one', async () => {
    await page.goto(`${base}/ui`);
    await page.getByLabel('API key').fill('kmsgw_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid');
    await accessible('sign in');
    await page.screenshot({ path: `${shots}/1-sign-in.png` });
    await page.getByLabel('API key').fill(user.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Key inventory' }).waitFor();
    expect(await page.locator('table tbody tr').count()).toBe(4);
  });

  it('filters the inventory to one provider and state', async () => {
    await page.getByLabel('Provider', { exact: true }).selectOption('aws');
    await page.getByLabel('State', { exact: true }).selectOption('ACTIVE');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('table tbody tr').count()).toBe(1);
    expect(await page.locator('table tbody tr td').first().textContent()).toBe('alias/orders');
    expect(page.url()).toContain('provider=aws');
    await accessible('inventory');
    await page.screenshot({ path: `${shots}/2-inventory-filtered.png`, fullPage: true });
  });

  it('opens the key: its versions and audit trail', async () => {
    await page.getByRole('link', { name: 'alias/orders' }).click();
    await page.getByRole('heading', { name: 'Key alias/orders' }).waitFor();
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions.waitFor();
    expect(await versions.locator('tbody tr').count()).toBe(1);
    const audit = page.getByRole('table', { name: 'Recent audit events' });
    await audit.waitFor();
    const operations = await audit.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(operations).toEqual(expect.arrayContaining(['createKey', 'encrypt']));
    await page.getByRole('table', { name: 'Operations' }).or(page.getByText('Operations: never used.')).waitFor();
    await accessible('key detail');
    await page.screenshot({ path: `${shots}/3-key-detail.png`, fullPage: true });
  });

  it('rotates the key and shows the new version', async () => {
    await page.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Rotate: done');
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions.waitFor();
    await expect.poll(() => versions.locator('tbody tr').count()).toBe(2);
    expect(await versions.locator('tbody tr').nth(1).locator('td').nth(1).textContent()).toBe('current');
    expect((await gw.call('GET', `/v1/keys/${target}`)).body.currentVersion).toBe(2);
    await page.screenshot({ path: `${shots}/4-rotated.png`, fullPage: true });
  });

  it('draws the dashboard\'s charts', async () => {
    await gw.runtime.services.usage.flush();
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('1 operations in the last 48 hours').waitFor();
    // No scan yet: two charts and the offer to scan; the scan's figures make the third.
    await page.getByText('No compliance scan has finished yet.').waitFor();
    await page.getByRole('button', { name: 'Scan every key now' }).click();
    const queued = await page.getByRole('status').filter({ hasText: /^Scan job_/ }).textContent();
    await finished(gw, /Scan (job_\w+)/.exec(queued!)![1]!);
    await page.reload();
    await page.getByText(/Keys breaking each rule \(scan of 4 keys/).waitFor();
    await expect.poll(() => page.locator('canvas').count()).toBe(3);
    // Chart.js drew on the canvases: they are not blank.
    const drawn = await page.locator('canvas').first().evaluate((c: HTMLCanvasElement) => c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.some((x) => x !== 0));
    expect(drawn).toBe(true);
    expect(await page.locator('.card strong').first().textContent()).toBe('4');
    await accessible('dashboard');
    await page.screenshot({ path: `${shots}/5-dashboard.png`, fullPage: true });
  });

  it('logged no error on the way (no script refused by the content security policy)', () => {
    expect(pageErrors).toEqual([]);
  });

  it('serves the page with a strict content security policy', async () => {
    const res = await fetch(`${base}/ui/`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${base}/ui/../package.json`)).status).toBe(404);
  });
});
