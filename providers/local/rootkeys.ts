// The local keystore's root keys: a versioned keyring file (0600) in the data directory. Material is
// sealed under the current root key; older root keys stay to open what they sealed, so rotating
// the root key never loses access.
import { randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmsError, needs } from '../../src/errors.ts';

interface KeyringFile { current: number; keys: { version: number; key: string; createdAt: string }[] }

const IV = 12;
const TAG = 16;

export class RootKeyring {
  private constructor(private readonly path: string, private file: KeyringFile) {}

  /** Opens the keyring in `dataDir`, creating it with a first root key when there is none. */
  static open(dataDir: string): RootKeyring {
    const path = join(dataDir, 'root-keys.json');
    if (!existsSync(path)) {
      const ring = new RootKeyring(path, { current: 0, keys: [] });
      ring.rotate();
      return ring;
    }
    const mode = statSync(path).mode & 0o777;
    needs((mode & 0o077) === 0, 'FAILED_PRECONDITION', `root key file "${path}" must not be readable by group or others (mode ${mode.toString(8)}); run chmod 600`);
    return new RootKeyring(path, JSON.parse(readFileSync(path, 'utf8')) as KeyringFile);
  }

  get currentVersion(): number { return this.file.current; }

  /** Adds a root key version and makes it current; returns the new version. */
  rotate(): number {
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
    return version;
  }

  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const version = this.file.current;
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
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key(version), iv).setAAD(aad).setAuthTag(tag);
      return Buffer.concat([decipher.update(buf.subarray(4 + IV, buf.length - TAG)), decipher.final()]);
    } catch (cause) {
      throw new KmsError('INTERNAL', 'stored key material failed its integrity check', { provider: 'local', cause });
    }
  }

  private key(version: number): Buffer {
    const entry = this.file.keys.find((k) => k.version === version);
    needs(entry, 'INTERNAL', `root key version ${version} is missing from the keyring`);
    return Buffer.from(entry.key, 'base64');
  }
}
