// The import key of backends that take material in software (the local keystore; Key Vault, which
// takes a JWK over TLS): an RSA-3072 pair the holder wraps the material for, made at the first
// import and kept for the process's life. The material is in the clear in the gateway's memory.
import type { KeyObject } from 'node:crypto';
import { newKeyPair } from '../src/crypto/keypair.ts';
import { unwrapForImporter } from '../src/crypto/keywrap.ts';
import { wrappedFor, type ImportRequest } from './provider.ts';

export class SoftwareImportKey {
  private pair?: Promise<{ privateKey: KeyObject; spki: Uint8Array }>;

  /** The request's material (raw key, or PKCS#8 for pairs), wrapped by its holder for this key and unwrapped here. The caller zeroes it. */
  async unwrap(req: ImportRequest): Promise<Buffer> {
    this.pair ??= newKeyPair({ type: 'rsa', modulusLength: 3072 });
    const pair = await this.pair;
    const { target, wrapped } = await wrappedFor(req, async (scheme) => ({ scheme, wrappingKey: pair.spki }));
    return unwrapForImporter(pair.privateKey, target.scheme, wrapped);
  }
}
