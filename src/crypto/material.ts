// Key material brought from elsewhere (an import, a caller's own key): raw bytes for symmetric
// specs, PKCS#8 DER for key pairs, as the clouds import it.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KmsError } from '../errors.ts';
import { specInfo, type KeySpec } from '../keys/specs.ts';
import type { ImportRequest } from '../../providers/provider.ts';
import { wrapForImporter } from './keywrap.ts';

/** Material brought from elsewhere, checked to be what its spec says before it is kept. */
export function checkedMaterial(spec: KeySpec, bytes: Buffer): Buffer {
  const info = specInfo[spec];
  const wrong = (detail: string) => new KmsError('INVALID_ARGUMENT', `the imported material is not a ${spec} key: ${detail}`, { field: 'material' });
  if (info.family === 'aes' || info.family === 'hmac') {
    if (bytes.length !== info.bits / 8) throw wrong(`${bytes.length} bytes, not ${info.bits / 8}`);
    return bytes;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch {
    throw wrong('not a PKCS#8 private key');
  }
  const d = key.asymmetricKeyDetails ?? {};
  const fits = info.family === 'rsa' ? key.asymmetricKeyType === 'rsa' && d.modulusLength === info.bits
    : info.family === 'ec' ? key.asymmetricKeyType === 'ec' && d.namedCurve === info.curve
      : key.asymmetricKeyType === 'ed25519';
  if (!fits) throw wrong(`a ${key.asymmetricKeyType} key${d.modulusLength ? ` of ${d.modulusLength} bits` : ''}${d.namedCurve ? ` on ${d.namedCurve}` : ''}`);
  return bytes;
}

/**
 * An import of material the gateway holds in the clear (a backup's, a caller's own): wrapped for
 * whichever target the importer offers, with a pair's public half for importers that keep it.
 */
export function heldMaterial(spec: KeySpec, material: Buffer): Pick<ImportRequest, 'wrap' | 'publicKey'> {
  const { family } = specInfo[spec];
  return {
    wrap: async (t) => wrapForImporter(t.wrappingKey, t.scheme, material),
    publicKey: family === 'aes' || family === 'hmac' ? undefined
      : createPublicKey(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }),
  };
}
