// Key material brought from elsewhere (an import, a caller's own key): raw bytes for symmetric
// specs, PKCS#8 DER for key pairs, as the clouds import it.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KmsError } from '../errors.ts';
import { specInfo, type KeySpec } from '../keys/specs.ts';

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
