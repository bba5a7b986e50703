// Backup and restore against real backends: a gateway with keys in its local keystore, on the
// SoftHSM2 token and on AWS (moto), backed up under keys on AWS; its database and data directory
// (root key included) are then wiped, and a new gateway restores the bundle and decrypts and
// verifies what the old one made. A second restore takes the HSM as lost and moves its
// exportable key onto the local keystore.
import { createCipheriv, createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { getTableColumns, sql } from 'drizzle-orm';
import { bindingVersions, envelopeRepairs, keyAliases, keyBindings, keyEvents, keys, keyVersions, policies } from '../src/db/schema/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupToFile } from '../src/dr/backup.ts';
import { BUNDLE_FORMAT, openBundle, readHeader } from '../src/dr/bundle.ts';
import { restoreBackup } from '../src/dr/restore.ts';
import { KmsError } from '../src/errors.ts';
import type { LocalProvider } from '../providers/local/index.ts';
import { isSigner, withCapability } from '../providers/provider.ts';
import { queryAuditEvents } from '../src/db/queries/audit.ts';
import { rsaAesUnwrap } from '../src/crypto/keywrap.ts';
import { runKmsgw } from './support/cli.ts';
import { b64, startGateway, type TestGateway } from './support/gateway.ts';
import { outage } from './support/outage.ts';
import { softhsmConnection } from './support/softhsm.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');
const aws = { name: 'aws', provider: 'aws', region: process.env.AWS_REGION ?? 'eu-west-1', endpoint };
const connections = [{ name: 'local', provider: 'local' }, softhsmConnection('hsm'), aws];

interface Made { id: string; envelope?: { ciphertext: string; context: Record<string, string>; plaintext: string }; signature?: string }
const made: Record<string, Made> = {};
/** The bundle's file, in a directory of the test's own. */
const dir = mkdtempSync(join(tmpdir(), 'kmsgw-backup-'));
const bundle = join(dir, 'bundle.kmsgw');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let oldHead: { seq: number; hash: string } | undefined;
let localMaterial: Buffer;
const message = b64('signed before the wipe');

async function make(gw: TestGateway, name: string, body: Record<string, unknown>) {
  const res = await gw.call('POST', '/v1/keys', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  made[name] = { id: res.body.id };
  return res.body.id as string;
}

async function seal(gw: TestGateway, name: string) {
  const context = { record: name };
  const plaintext = b64(`secret of ${name}`);
  const res = await gw.call('POST', `/v1/keys/${made[name]!.id}/encrypt`, { plaintext, context });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  made[name]!.envelope = { ciphertext: res.body.ciphertext, context, plaintext };
}

/** A restored gateway: a new database and data directory, its test principal let in again (the restore brought the old gateway's policies). */
async function restoredGateway(config: Record<string, unknown>[], onto?: Record<string, string>) {
  const gw = await startGateway({ config: { connections: config } });
  await gw.database.db.execute(sql`delete from policies`);
  const report = await restoreBackup(gw.database.db, gw.runtime.connections, bundle, { principal: 'cli:test', onto });
  await gw.policy('restored-tester', `@id("restored-tester")\npermit (principal == KmsGw::Principal::"${gw.principal}", action, resource);`);
  return { gw, report };
}

async function opens(gw: TestGateway, name: string) {
  const e = made[name]!.envelope!;
  const res = await gw.call('POST', '/v1/decrypt', { ciphertext: e.ciphertext, context: e.context });
  expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
  expect(res.body.plaintext).toBe(e.plaintext);
}

beforeAll(async () => {
  const old = await startGateway({ config: { connections } });
  try {
    await make(old, 'localAes', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true, aliases: ['payments'] });
    await seal(old, 'localAes');
    const firstVersion = made.localAes!.envelope!;
    expect((await old.call('POST', `/v1/keys/${made.localAes!.id}/rotate`, {})).status).toBe(200);
    await seal(old, 'localAes');
    made.localAesV1 = { id: made.localAes!.id, envelope: firstVersion };
    await make(old, 'localSigner', { spec: 'EC_P256', usage: 'SIGN_VERIFY', exportable: true });
    made.localSigner!.signature = (await old.call('POST', `/v1/keys/${made.localSigner!.id}/sign`, { message, algorithm: 'ECDSA_SHA_256' })).body.signature;
    // Its HSM replica misses the second version (the token is down for the rotation): the restore must promote AWS, which has it.
    await make(old, 'localReplicated', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', replicas: ['hsm', 'aws'] });
    const tokenDown = outage(old.runtime.connections.get('hsm').provider, ['createVersion']);
    try {
      expect((await old.call('POST', `/v1/keys/${made.localReplicated!.id}/rotate`, {})).status).toBe(200);
    } finally {
      tokenDown();
    }
    expect((await old.call('GET', `/v1/keys/${made.localReplicated!.id}`)).body.bindings.map((b: { connection: string; syncStatus: string }) => `${b.connection} ${b.syncStatus}`)).toEqual(['local in_sync', 'hsm behind', 'aws in_sync']);
    await seal(old, 'localReplicated');
    await make(old, 'localOnly', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
    await seal(old, 'localOnly');
    await make(old, 'hsmAes', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'hsm' });
    await seal(old, 'hsmAes');
    await make(old, 'hsmExportable', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'hsm', exportable: true });
    await seal(old, 'hsmExportable');
    await make(old, 'awsAes', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
    await seal(old, 'awsAes');
    await make(old, 'backupEnc', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' });
    await make(old, 'backupSig', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' });

    // The local key's current material, exported the API's way, to look for it in the bundle.
    const importer = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const exported = await old.call('POST', `/v1/keys/${made.localAes!.id}/export`, { scheme: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKey: importer.publicKey.export({ type: 'spki', format: 'pem' }) });
    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    localMaterial = rsaAesUnwrap(createPrivateKey(importer.privateKey.export({ type: 'pkcs8', format: 'pem' })), 'sha256', Buffer.from(exported.body.wrappedKey, 'base64'));

    // A backup key in the local keystore would be lost with the database it protects.
    await make(old, 'localBackupKey', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT' });
    await expect(backupToFile(old.database.db, old.runtime.connections, old.runtime.services.keys, { encryptionKey: made.localBackupKey!.id, signingKey: made.backupSig!.id, principal: 'cli:test', out: bundle }))
      .rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('outside the local keystore') });

    const report = await backupToFile(old.database.db, old.runtime.connections, old.runtime.services.keys, { encryptionKey: made.backupEnc!.id, signingKey: made.backupSig!.id, principal: 'cli:test', out: bundle });
    // Two versions of localAes, localSigner, hsmExportable; nothing of the non-exportable keys.
    expect(report).toMatchObject({ keys: 10, materials: 4 });
    expect(report.notCarried.map((k) => k.keyId).sort()).toEqual([made.localOnly!.id, made.localBackupKey!.id].sort());
    const [created] = await queryAuditEvents(old.database.db, { action: 'backup create' }, 10);
    expect(created).toMatchObject({ principal: 'cli:test', detail: { backup: report.id, materials: '4' } });
    oldHead = (await readHeader(bundle)).contents.auditHead ?? undefined;
  } finally {
    // The wipe: the database is dropped (or the in-memory one discarded), and the data directory
    // with the local keystore's root key is deleted.
    await old.close();
    rmSync(old.dataDir, { recursive: true, force: true });
  }
}, 180_000);

describe('backup bundle', () => {
  it('carries nothing readable: no key ids, no material, in the file or its decoded parts', async () => {
    const file = readFileSync(bundle);
    // Encrypted, the payload is no gzip stream, and the material is in it neither raw nor in base64.
    expect(() => gunzipSync(file.subarray(BUNDLE_FORMAT.length + 1))).toThrow();
    expect(file.includes(localMaterial)).toBe(false);
    expect(file.includes(localMaterial.toString('base64'))).toBe(false);
    expect(file.includes(made.localAes!.id)).toBe(false);
    expect(file.includes('payments')).toBe(false);
    expect(await readHeader(bundle)).toMatchObject({ format: 'kmsgw-backup/2', contents: { keys: 10, policies: expect.any(Number), materials: 4 }, encryption: { keyId: made.backupEnc!.id }, signing: { keyId: made.backupSig!.id, algorithm: 'ECDSA_SHA_256', connection: 'aws' } });
    expect(oldHead?.seq).toBeGreaterThan(0);
  });

  it('a changed or cut bundle is refused by its signature or its layout, and a gateway with keys or policies refuses a restore; none changes anything', async () => {
    const gw = await startGateway({ config: { connections } });
    try {
      await gw.database.db.execute(sql`delete from policies`);
      const changed = (name: string, bytes: Buffer) => {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        return restoreBackup(gw.database.db, gw.runtime.connections, path, { principal: 'cli:test' });
      };
      const file = readFileSync(bundle);
      const flip = (at: number) => {
        const f = Buffer.from(file);
        f[at]! ^= 1;
        return f;
      };
      await expect(changed('payload', flip(BUNDLE_FORMAT.length + 100))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('signature does not verify') });
      // In the header, which comes after the payload.
      await expect(changed('header', flip(file.length - 200))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(changed('cut', file.subarray(0, file.length - 1000))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(changed('empty', Buffer.from('{"format":"kmsgw-backup/1"}'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await gw.policy('present', '@id("present")\nforbid (principal, action, resource) when { false };');
      await expect(restoreBackup(gw.database.db, gw.runtime.connections, bundle, { principal: 'cli:test' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('empty gateway') });
      expect((await gw.call('GET', '/v1/keys')).body.keys).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 60_000);
});

describe('restore after the wipe', () => {
  let gw: TestGateway;
  let report: Awaited<ReturnType<typeof restoreBackup>>;
  beforeAll(async () => { ({ gw, report } = await restoredGateway(connections)); }, 120_000);
  afterAll(async () => { await gw?.close(); });

  it('reports what moved: local material imported, a replica promoted, the key with neither lost', () => {
    const byKey = (list: { keyId: string }[]) => list.map((x) => x.keyId).sort();
    expect(report.imported).toEqual(expect.arrayContaining([
      { keyId: made.localAes!.id, from: 'local', onto: 'local', versions: 2 },
      { keyId: made.localSigner!.id, from: 'local', onto: 'local', versions: 1 },
    ]));
    expect(report.imported).toHaveLength(2);
    expect(report.promoted).toEqual([{ keyId: made.localReplicated!.id, from: 'local', to: 'aws' }]);
    expect(byKey(report.lost)).toEqual([made.localOnly!.id, made.localBackupKey!.id].sort());
    expect(report.auditHead).toEqual(oldHead);
  });

  it('decrypts envelopes made before the wipe, of every version, on every backend', async () => {
    for (const name of ['localAes', 'localAesV1', 'localReplicated', 'hsmAes', 'hsmExportable', 'awsAes']) await opens(gw, name);
    expect((await gw.call('GET', `/v1/keys/${made.localReplicated!.id}`)).body).toMatchObject({ connection: 'aws', currentVersion: 2 });
    // The promoted replica holds the current version: the key encrypts at once.
    await seal(gw, 'localReplicated');
    await opens(gw, 'localReplicated');
    expect((await gw.call('GET', '/v1/keys/alias/payments')).body).toMatchObject({ id: made.localAes!.id, currentVersion: 2 });
  });

  it('verifies a signature made before the wipe, and the restored keys keep working', async () => {
    const verified = await gw.call('POST', `/v1/keys/${made.localSigner!.id}/verify`, { message, algorithm: 'ECDSA_SHA_256', signature: made.localSigner!.signature });
    expect(verified.body).toMatchObject({ valid: true });
    await seal(gw, 'localAes');
    await opens(gw, 'localAes');
    expect((await gw.call('POST', `/v1/keys/${made.localAes!.id}/rotate`, {})).body).toMatchObject({ currentVersion: 3 });
  });

  it('the lost key keeps its metadata and says why it cannot be used', async () => {
    const e = made.localOnly!.envelope!;
    const res = await gw.call('POST', '/v1/decrypt', { ciphertext: e.ciphertext, context: e.context });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'NOT_FOUND', detail: expect.stringMatching(/^no material for version 1 of "local:id=/) });
    expect((await gw.call('GET', `/v1/keys/${made.localOnly!.id}`)).status).toBe(200);
  });

  it('records the restore in the audit trail with the old chain\'s head, and in each key\'s history', async () => {
    const [event] = await queryAuditEvents(gw.database.db, { action: 'backup restore' }, 10);
    expect(event).toMatchObject({ principal: 'cli:test', detail: { backup: report.bundle, previousAuditSeq: String(oldHead!.seq), previousAuditHash: oldHead!.hash } });
    const history = (await gw.call('GET', `/v1/keys/${made.localReplicated!.id}/events`)).body;
    expect(JSON.stringify(history)).toContain('RESTORED');
  });
});

describe('restore with the HSM lost', () => {
  it('moves the exportable HSM key onto the local keystore and reports the other lost', async () => {
    const { gw, report } = await restoredGateway([{ name: 'local', provider: 'local' }, aws], { hsm: 'local' });
    try {
      expect(report.imported).toContainEqual({ keyId: made.hsmExportable!.id, from: 'hsm', onto: 'local', versions: 1 });
      expect(report.lost.map((l) => l.keyId)).toContain(made.hsmAes!.id);
      await opens(gw, 'hsmExportable');
      expect((await gw.call('GET', `/v1/keys/${made.hsmExportable!.id}`)).body).toMatchObject({ connection: 'local', provider: 'local' });
    } finally {
      await gw.close();
    }
  }, 120_000);
});

describe('restore with the local keystore moved onto the HSM', () => {
  it('imports the exportable local keys into the token: old envelopes open and the old signature verifies there', async () => {
    const { gw, report } = await restoredGateway(connections, { local: 'hsm' });
    try {
      expect(report.imported).toEqual(expect.arrayContaining([
        { keyId: made.localAes!.id, from: 'local', onto: 'hsm', versions: 2 },
        { keyId: made.localSigner!.id, from: 'local', onto: 'hsm', versions: 1 },
      ]));
      for (const name of ['localAes', 'localAesV1']) await opens(gw, name);
      expect((await gw.call('GET', `/v1/keys/${made.localSigner!.id}`)).body).toMatchObject({ connection: 'hsm', provider: 'pkcs11' });
      const verified = await gw.call('POST', `/v1/keys/${made.localSigner!.id}/verify`, { message, algorithm: 'ECDSA_SHA_256', signature: made.localSigner!.signature });
      expect(verified.body).toMatchObject({ valid: true });
    } finally {
      await gw.close();
    }
  }, 120_000);
});

describe('a restore whose import fails', () => {
  it('leaves the gateway empty and destroys the material it had imported; the next restore goes in whole', async () => {
    const gw = await startGateway({ config: { connections } });
    try {
      await gw.database.db.execute(sql`delete from policies`);
      const local = gw.runtime.connections.get('local').provider as LocalProvider;
      const importKey = local.importKey.bind(local);
      let aesVersions = 0;
      local.importKey = async (req) => {
        if (req.spec !== 'EC_P256') return importKey(req).finally(() => { aesVersions++; });
        // Fails once the AES key's two versions are in the keystore.
        while (aesVersions < 2) await new Promise((r) => setTimeout(r, 20));
        throw new KmsError('UNAVAILABLE', 'the keystore went away (made to fail by the test)');
      };
      await expect(restoreBackup(gw.database.db, gw.runtime.connections, bundle, { principal: 'cli:test' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      const count = async (table: string) => JSON.stringify(await gw.database.db.execute(sql.raw(`select count(*)::int as n from ${table}`)));
      expect(await count('keys')).toContain('"n":0');
      expect(await count('local_key_material')).toContain('"n":0');

      local.importKey = importKey;
      expect((await restoreBackup(gw.database.db, gw.runtime.connections, bundle, { principal: 'cli:test' })).imported).toHaveLength(2);
      expect(await count('local_key_material')).toContain('"n":3');
    } finally {
      await gw.close();
    }
  }, 120_000);
});

describe('a format 1 bundle, as releases before streaming wrote', () => {
  /**
   * The format 1 writer, kept here only: one JSON document, the gzipped content under AES-256-GCM with
   * the header text as AAD, the key wrapped by the backup key's bindings, the signature as in format 2.
   */
  async function sealFormat1(gw: TestGateway, content: unknown, like: Awaited<ReturnType<typeof readHeader>>): Promise<string> {
    const id = `bak_format1${Date.now()}`;
    const dek = randomBytes(32);
    const iv = randomBytes(12);
    const aws = gw.runtime.connections.get('aws').provider;
    const { spec } = like.encryption;
    const wraps = await Promise.all(like.encryption.wraps.map(async ({ wrapped: _, ...b }) => ({
      ...b, wrapped: Buffer.from(await aws.encrypt({ ref: b.ref, versionRef: b.versionRef, spec, plaintext: dek, aad: Buffer.from(`kmsgw-backup/1 ${id}`) })).toString('base64'),
    })));
    const header = JSON.stringify({ ...like, format: 'kmsgw-backup/1', id, encryption: { ...like.encryption, wraps }, iv: iv.toString('base64') });
    const cipher = createCipheriv('aes-256-gcm', dek, iv).setAAD(Buffer.from(header));
    const payload = Buffer.concat([cipher.update(gzipSync(JSON.stringify(content))), cipher.final(), cipher.getAuthTag()]);
    const message = Buffer.concat([createHash('sha256').update(header).digest(), createHash('sha256').update(payload).digest()]);
    const s = like.signing;
    const signature = await withCapability(aws, isSigner, 'sign').sign({ ref: s.ref, versionRef: s.versionRef, spec: s.spec, algorithm: s.algorithm, message, digest: createHash('sha256').update(message).digest() });
    return JSON.stringify({ format: 'kmsgw-backup/1', header, payload: payload.toString('base64'), signature: Buffer.from(signature).toString('base64') });
  }

  it('restores: the envelopes made before the wipe open', async () => {
    const gw = await startGateway({ config: { connections } });
    try {
      // Format 1 content ({ tables, materials }, rows with drizzle's field names and bytea in base64) made from this bundle's records.
      const schemaOf = { keys, key_versions: keyVersions, key_bindings: keyBindings, binding_versions: bindingVersions, key_aliases: keyAliases, key_events: keyEvents, policies, envelope_repairs: envelopeRepairs };
      const tables: Record<string, unknown[]> = Object.fromEntries(Object.keys(schemaOf).map((t) => [t, []]));
      const add = (table: keyof typeof schemaOf, rows: Record<string, unknown>[]) => tables[table]!.push(...rows.map((row) => Object.fromEntries(Object.entries(getTableColumns(schemaOf[table])).map(([field, column]) => {
        const v = row[column.name];
        return [field, typeof v === 'string' && column.getSQLType() === 'bytea' ? Buffer.from(v.slice(2), 'hex').toString('base64') : v];
      }))));
      const opened = await openBundle(gw.runtime.connections, bundle);
      const materials: unknown[] = [];
      for await (const line of opened.lines()) {
        const r = JSON.parse(line);
        if (r.type === 'key') {
          add('keys', [r.rows.key]);
          for (const [table, rows] of [['key_versions', r.rows.versions], ['key_bindings', r.rows.bindings], ['binding_versions', r.rows.bindingVersions], ['key_aliases', r.rows.aliases], ['key_events', r.rows.events]] as const) add(table, rows);
          materials.push(...r.materials.map((m: object) => ({ keyId: r.rows.key.id, ...m })));
        } else add(r.type === 'policy' ? 'policies' : 'envelope_repairs', [r.row]);
      }
      opened.close();
      const file = join(dir, 'format1.json');
      writeFileSync(file, await sealFormat1(gw, { tables, materials }, opened.header));
      expect(await readHeader(file)).toMatchObject({ format: 'kmsgw-backup/1', contents: { keys: 10 } });

      await gw.database.db.execute(sql`delete from policies`);
      const report = await restoreBackup(gw.database.db, gw.runtime.connections, file, { principal: 'cli:test' });
      expect(report.imported).toHaveLength(2);
      await gw.policy('restored-tester', `@id("restored-tester")\npermit (principal == KmsGw::Principal::"${gw.principal}", action, resource);`);
      for (const name of ['localAes', 'localAesV1', 'hsmAes', 'awsAes']) await opens(gw, name);
    } finally {
      await gw.close();
    }
  }, 120_000);
});

describe('POST /v1/backups', () => {
  it('streams a bundle of the running gateway that restores elsewhere; a refused backup key is a problem before any byte, and a crypto user may not back up', async () => {
    const file = join(dir, 'api.kmsgw');
    const gw = await startGateway({ config: { connections } });
    let sealed: string;
    let id: string;
    try {
      const key = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', exportable: true })).body.id;
      sealed = (await gw.call('POST', `/v1/keys/${key}/encrypt`, { plaintext: b64('kept by the API backup') })).body.ciphertext;
      const enc = (await gw.call('POST', '/v1/keys', { spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', connection: 'aws' })).body.id;
      const sig = (await gw.call('POST', '/v1/keys', { spec: 'EC_P256', usage: 'SIGN_VERIFY', connection: 'aws' })).body.id;
      const post = (body: object, secret = gw.secret) => gw.app.request('/v1/backups', {
        method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': String(JSON.stringify(body).length) }, body: JSON.stringify(body),
      });

      const refused = await post({ encryptionKey: key, signingKey: sig });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(await refused.json()).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'encryptionKey', detail: expect.stringContaining('outside the local keystore') });
      const user = await gw.apiKey(['crypto-user']);
      expect((await post({ encryptionKey: enc, signingKey: sig }, user.secret)).status).toBe(403);

      const res = await post({ encryptionKey: enc, signingKey: sig });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      id = /^attachment; filename="(bak_[0-9a-z]{26})\.kmsgw"$/.exec(res.headers.get('content-disposition') ?? '')![1]!;
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      expect(await readHeader(file)).toMatchObject({ format: BUNDLE_FORMAT, id, contents: { keys: 3, materials: 1 } });
      const [made] = await queryAuditEvents(gw.database.db, { action: 'backup create' }, 10);
      expect(made).toMatchObject({ principal: gw.principal, detail: { backup: id, keys: '3', materials: '1' } });
    } finally {
      await gw.close();
      rmSync(gw.dataDir, { recursive: true, force: true });
    }

    const restored = await startGateway({ config: { connections } });
    try {
      await restored.database.db.execute(sql`delete from policies`);
      expect(await restoreBackup(restored.database.db, restored.runtime.connections, file, { principal: 'cli:test' })).toMatchObject({ bundle: id, imported: [expect.objectContaining({ onto: 'local', versions: 1 })] });
      await restored.policy('restored-tester', `@id("restored-tester")\npermit (principal == KmsGw::Principal::"${restored.principal}", action, resource);`);
      expect((await restored.call('POST', '/v1/decrypt', { ciphertext: sealed })).body.plaintext).toBe(b64('kept by the API backup'));
    } finally {
      await restored.close();
    }
  }, 120_000);
});

describe('kmsgw backup', () => {
  /** Runs `kmsgw …` on a gateway host of its own: a new data directory, its embedded database, the test's connections. */
  async function kmsgw(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const run = await runKmsgw(args, { DATABASE_URL: undefined, KMSGW_DATA_DIR: dataDir, KMSGW_CONFIG: join(dataDir, 'config.yaml'), LOG_LEVEL: 'silent' });
    return { ...run, stdout: run.stdout.toString() };
  }

  it('inspects a bundle, restores it into an empty gateway (exit 1: a key is lost) and refuses a second restore', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kmsgw-restore-'));
    try {
      writeFileSync(join(dataDir, 'config.yaml'), stringify({ connections }));
      const file = join(dataDir, 'bundle.kmsgw');
      copyFileSync(bundle, file);
      const inspected = await kmsgw(['backup', 'inspect', file], dataDir);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ contents: { keys: 10 } });
      const restored = await kmsgw(['backup', 'restore', file, '--json'], dataDir);
      expect(restored.code, restored.stderr).toBe(1);
      expect(JSON.parse(restored.stdout)).toMatchObject({ dryRun: false, promoted: [{ keyId: made.localReplicated!.id }] });
      const again = await kmsgw(['backup', 'restore', file], dataDir);
      expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('empty gateway') });
      const badOnto = await kmsgw(['backup', 'restore', file, '--onto', 'hsm'], dataDir);
      expect(badOnto.code).toBe(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
