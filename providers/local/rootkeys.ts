// The local keystore's root keys: a versioned keyring file (0600) in the data directory. Material is
// sealed under the current root key; older root keys stay to open what they sealed, so rotating
// the root key never loses access.
import { randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { KmsError, needs } from '../../src/errors.ts';

interface KeyringFile { current: number; keys: { version: number; key: string; createdAt: string }[] }

const IV = 12;
const TAG = 16;

export class RootKeyring {
  private file: KeyringFile = { current: 0, keys: [] };
  /** The file's modification time when read: another process (`kmsgw root-key rotate`) may have rotated it since. */
  private readAt = -1;

  private constructor(private readonly path: string) {}

  /** Opens the keyring in `dataDir`, creating it with a first root key when there is none. */
  static open(dataDir: string): RootKeyring {
    const ring = new RootKeyring(join(dataDir, 'root-keys.json'));
    if (existsSync(ring.path)) ring.refresh();
    else ring.rotate();
    return ring;
  }

  get currentVersion(): number {
    this.refresh();
    return this.file.current;
  }

  /** Reads the file again when it changed since it was read. */
  private refresh(): void {
    const stat = statSync(this.path);
    if (stat.mtimeMs === this.readAt) return;
    const mode = stat.mode & 0o777;
    needs((mode & 0o077) === 0, 'FAILED_PRECONDITION', `root key file "${this.path}" must not be readable by group or others (mode ${mode.toString(8)}); run chmod 600`);
    this.file = JSON.parse(readFileSync(this.path, 'utf8')) as KeyringFile;
    this.readAt = stat.mtimeMs;
  }

  /**
   * Adds a root key version and makes it current; returns the new version. From the file as it is
   * now, under its lock: a second rotation at the same time would write another key under the same
   * version, and what the first sealed could never be opened again.
   */
  rotate(): number {
    // A keyring not written yet (the first start) has nothing to lock or read.
    const release = existsSync(this.path) ? lockfile.lockSync(this.path, { stale: 10_000 }) : undefined;
    try {
      if (release) this.refresh();
      return this.write();
    } finally {
      release?.();
    }
  }

  private write(): number {
    const version = this.file.current + 1;
    const next: KeyringFile = {
      current: version,
      keys: [...this.file.keys, { version, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
    };
    // Write-then-rename so a crash never leaves a half-written keyring.
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(next, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
    this.file = next;
    this.readAt = statSync(this.path).mtimeMs;
    return version;
  }

  /** Seals under the current root key, as the file has it now. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const version = this.currentVersion;
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.key(version), iv).setAAD(aad);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(version);
    return Buffer.concat([head, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** The root key version a sealed blob was made under. */
  static versionOf(sealed: Uint8Array): number { return Buffer.from(sealed).readUInt32BE(0); }

  unseal(sealed: Uint8Array, aad: Uint8Array): Buffer {
    const buf = Buffer.from(sealed);
    const version = buf.readUInt32BE(0);
    const iv = buf.subarray(4, 4 + IV);
    const tag = buf.subarray(buf.length - TAG);
    const key = this.key(version);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag);
      return Buffer.concat([decipher.update(buf.subarray(4 + IV, buf.length - TAG)), decipher.final()]);
    } catch (cause) {
      throw new KmsError('INTERNAL', 'stored key material failed its integrity check', { provider: 'local', cause });
    }
  }

  private key(version: number): Buffer {
    // A version this process has not seen: another process rotated the file since it was read.
    if (!this.file.keys.some((k) => k.version === version)) this.refresh();
    const entry = this.file.keys.find((k) => k.version === version);
    needs(entry, 'INTERNAL', `root key version ${version} is missing from the keyring`);
    return Buffer.from(entry.key, 'base64');
  }
}
