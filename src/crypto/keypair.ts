// Key pairs from node:crypto, handed out as key objects made again from their DER encodings. On
// Node 20 a key object that a key generation job made can deadlock its thread when it is exported
// (seen in the suite: a JWK export) while the garbage collector destroys that job, whose destructor
// takes the key's mutex that the export holds. Key objects made from the encodings share nothing
// with the job.
import { createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export type KeyPairSpec = { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string } | { type: 'ed25519' };
export interface KeyPair { privateKey: KeyObject; publicKey: KeyObject; pkcs8: Buffer; spki: Buffer }

const encodings = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;

function fromDer({ publicKey, privateKey }: { publicKey: Buffer; privateKey: Buffer }): KeyPair {
  return {
    privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }), publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }),
    pkcs8: privateKey, spki: publicKey,
  };
}

export function newKeyPairSync({ type, ...options }: KeyPairSpec): KeyPair {
  return fromDer(generateKeyPairSync(type as 'rsa', { ...options, ...encodings } as never) as unknown as { publicKey: Buffer; privateKey: Buffer });
}

/** As newKeyPairSync, generated on the thread pool (an RSA-3072 pair takes a while). */
export async function newKeyPair({ type, ...options }: KeyPairSpec): Promise<KeyPair> {
  return fromDer(await promisify(generateKeyPair)(type as 'rsa', { ...options, ...encodings } as never) as unknown as { publicKey: Buffer; privateKey: Buffer });
}
