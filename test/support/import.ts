// The material holder's side of an import: for tests that call an importer directly (ImportRequest.wrap),
// and for a caller bringing its own key.
import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';
import { wrapForImporter } from '../../src/crypto/keywrap.ts';
import { KmsError } from '../../src/errors.ts';
import type { ImportTarget } from '../../providers/provider.ts';

/** `offered` collects the schemes the importer offered, in order; a scheme `can` refuses is answered UNIMPLEMENTED, as an exporter without it answers. */
export function holder(material: Uint8Array, { offered = [], can = () => true }: { offered?: string[]; can?: (scheme: string) => boolean } = {}) {
  return async (t: ImportTarget): Promise<Uint8Array> => {
    offered.push(t.scheme);
    if (!can(t.scheme)) throw new KmsError('UNIMPLEMENTED', `the holder cannot wrap with ${t.scheme}`);
    return wrapForImporter(t.wrappingKey, t.scheme, material);
  };
}

/**
 * A caller's own key wrapped for a gateway RSA key's public key (bring your own key), as OpenSSL
 * makes it: OAEP of a fresh AES-256 key, then `id-aes256-wrap-pad` (RFC 5649) of the key under it,
 * with node:crypto's ciphers rather than the gateway's code.
 */
export function callerWrap(pem: string, material: Buffer, hash: 'sha1' | 'sha256' = 'sha256'): Buffer {
  const ephemeral = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ephemeral), kwp.update(material), kwp.final()]);
}
