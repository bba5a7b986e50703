// The local keystore's root keyring: created 0600, refused when readable by others, and rotatable
// without losing access to material sealed under earlier versions.
import { systemActor } from '../src/keys/model.ts';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resealLocalMaterial } from '../src/db/queries/local-material.ts';
import { RootKeyring } from '../providers/local/rootkeys.ts';
import { loadConfig } from '../src/config.ts';
import { newLogger } from '../src/log.ts';
import { openRuntime } from '../src/services.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => { await gw.close(); });

describe('root keyring', () => {
  it('is created on first use with mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgw-ring-'));
    RootKeyring.open(dir);
    expect(statSync(join(dir, 'root-keys.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses a keyring file readable by group or others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgw-ring-'));
    RootKeyring.open(dir);
    chmodSync(join(dir, 'root-keys.json'), 0o644);
    expect(() => RootKeyring.open(dir)).toThrow(/chmod 600/);
  });

  it('after rotation and re-sealing, envelopes made before still decrypt and new material uses the new version', async () => {
    const id = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' })).body.id;
    const ct = (await gw.call('POST', `/v1/keys/${id}/encrypt`, { plaintext: b64('old') })).body.ciphertext;
    const ring = RootKeyring.open(gw.dataDir);
    expect(ring.rotate()).toBe(2);
    expect(await resealLocalMaterial(gw.database.db, ring)).toBeGreaterThan(0);
    expect(await resealLocalMaterial(gw.database.db, ring)).toBe(0);

    // A gateway that starts now knows only what is on disk and in the database.
    const fresh = RootKeyring.open(gw.dataDir);
    expect(fresh.currentVersion).toBe(2);
    const rows = await gw.database.db.execute('select distinct root_version from local_key_material' as never);
    expect(JSON.stringify(rows)).toContain('"root_version":2');
    expect(JSON.stringify(rows)).not.toContain('"root_version":1');
    // A second gateway on the same database and data directory has nothing cached: it must unseal under version 2.
    const second = await openRuntime(loadConfig({ KMSGW_DATA_DIR: gw.dataDir, LOG_LEVEL: 'silent' }), newLogger('silent'), gw.database);
    try {
      expect((await second.services.crypto.decrypt(systemActor('test'), Buffer.from(ct, 'base64'))).plaintext.toString()).toBe('old');
    } finally {
      await second.cache.stop();
    }
  });
});

describe('root key rotated by another process', () => {
  it('a running keystore opens material re-sealed under a version it had not read, and seals new material under it', async () => {
    const { LocalProvider } = await import('../providers/local/index.ts');
    const { materialStore } = await import('../src/db/queries/local-material.ts');
    const dir = mkdtempSync(join(tmpdir(), 'kmsgw-ring-'));
    const store = materialStore(gw.database.db);
    const running = new LocalProvider(RootKeyring.open(dir), store, 50);
    const key = await running.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_01jd0000000000000000000001' });
    const aad = Buffer.from('aad');
    const wrapped = await running.encrypt({ ...key, spec: 'AES_256', plaintext: Buffer.alloc(32, 1), aad });
    // `kmsgw root-key rotate` on this host, while the gateway runs (on PostgreSQL nothing keeps it from it).
    const cli = RootKeyring.open(dir);
    const version = cli.rotate();
    await resealLocalMaterial(gw.database.db, cli);
    await new Promise((r) => setTimeout(r, 80)); // the running keystore's material cache expires
    expect(await running.decrypt({ ...key, spec: 'AES_256', ciphertext: wrapped, aad })).toEqual(Buffer.alloc(32, 1));
    const next = await running.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_01jd0000000000000000000002' });
    const rows = await gw.database.db.execute(`select root_version from local_key_material where ref = '${next.ref}'` as never);
    expect(JSON.stringify(rows)).toContain(`"root_version":${version}`);
  });
});

describe('material cache', () => {
  it('material destroyed through another instance stops being usable here once the cache entry expires', async () => {
    const { LocalProvider } = await import('../providers/local/index.ts');
    const { materialStore } = await import('../src/db/queries/local-material.ts');
    const ring = RootKeyring.open(gw.dataDir);
    const store = materialStore(gw.database.db);
    const mine = new LocalProvider(ring, store, 50);
    const other = new LocalProvider(ring, store, 50);
    const key = await mine.createKey({ spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_01jd0000000000000000000000' });
    const aad = Buffer.from('aad');
    const wrapped = await mine.encrypt({ ...key, spec: 'AES_256', plaintext: Buffer.alloc(32, 1), aad });
    await other.destroyKey({ ref: key.ref, versionRefs: [key.versionRef] });
    await new Promise((r) => setTimeout(r, 80));
    await expect(mine.decrypt({ ...key, spec: 'AES_256', ciphertext: wrapped, aad })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
