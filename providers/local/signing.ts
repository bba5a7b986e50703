// Signatures over precomputed digests, which node:crypto only offers over messages: RSASSA-PKCS1-v1_5
// and RSASSA-PSS (RFC 8017 §8-9, salt length = hash length) through the raw RSA primitive, ECDSA
// through @noble/curves with prehash off. ECDSA signatures are DER, as AWS KMS and GCP KMS return them.
import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, sign as edSign, timingSafeEqual, verify as edVerify, type KeyObject } from 'node:crypto';
import { digestInfo } from '../../src/crypto/digest-info.ts';
import { ecdsaCurves as curves, type EcSpec } from '../../src/crypto/ecdsa.ts';
import { signingHash, type KeySpec, type SigningAlgorithm, type HashName } from '../../src/keys/specs.ts';


export interface Pair { privateKey: KeyObject; publicKey: KeyObject }

export function signDigest(spec: KeySpec, algorithm: SigningAlgorithm, pair: Pair, data: Buffer): Buffer {
  if (algorithm === 'ED25519') return edSign(null, data, pair.privateKey);
  const { hash } = signingHash(algorithm)!;
  if (algorithm.startsWith('ECDSA_')) {
    const d = Buffer.from(pair.privateKey.export({ format: 'jwk' }).d!, 'base64url');
    return Buffer.from(curves[spec as EcSpec].sign(data, d, { prehash: false, lowS: false, format: 'der' }));
  }
  if (algorithm.startsWith('RSASSA_PKCS1')) {
    return privateEncrypt({ key: pair.privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, data));
  }
  return privateEncrypt({ key: pair.privateKey, padding: constants.RSA_NO_PADDING }, emsaPssEncode(data, hash, modulusBits(pair.publicKey)));
}

export function verifyDigest(spec: KeySpec, algorithm: SigningAlgorithm, pair: Pick<Pair, 'publicKey'>, data: Buffer, signature: Buffer): boolean {
  if (algorithm === 'ED25519') return edVerify(null, data, pair.publicKey, signature);
  const { hash } = signingHash(algorithm)!;
  if (algorithm.startsWith('ECDSA_')) {
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    try {
      return curves[spec as EcSpec].verify(signature, data, point, { prehash: false, lowS: false, format: 'der' });
    } catch {
      return false; // malformed DER is an invalid signature, not an error
    }
  }
  const bits = modulusBits(pair.publicKey);
  if (signature.length !== Math.ceil(bits / 8)) return false;
  let em: Buffer;
  try {
    const padding = algorithm.startsWith('RSASSA_PKCS1') ? constants.RSA_PKCS1_PADDING : constants.RSA_NO_PADDING;
    em = publicDecrypt({ key: pair.publicKey, padding }, signature);
  } catch {
    return false;
  }
  if (algorithm.startsWith('RSASSA_PKCS1')) return safeEqual(em, digestInfo(hash, data));
  return emsaPssVerify(data, em, hash, bits);
}

const modulusBits = (publicKey: KeyObject): number => publicKey.asymmetricKeyDetails!.modulusLength!;
const hashLength = (hash: HashName) => createHash(hash).digest().length;

function mgf1(seed: Buffer, length: number, hash: HashName): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; out.length * hashLength(hash) < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    out.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

function pssHash(mHash: Buffer, salt: Buffer, hash: HashName): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1 over the same hash and sLen = hLen. */
function emsaPssEncode(mHash: Buffer, hash: HashName, modBits: number): Buffer {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  const salt = randomBytes(hLen);
  const h = pssHash(mHash, salt, hash);
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
  const masked = xor(db, mgf1(h, emLen - hLen - 1, hash));
  masked[0]! &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([masked, h, Buffer.from([0xbc])]);
  // The raw RSA primitive takes exactly k bytes; for moduli of 8n+1 bits EM is one byte shorter.
  return em.length === Math.ceil(modBits / 8) ? em : Buffer.concat([Buffer.alloc(1), em]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2). */
function emsaPssVerify(mHash: Buffer, decrypted: Buffer, hash: HashName, modBits: number): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  const em = decrypted.subarray(decrypted.length - emLen);
  if (em.length !== emLen || em[emLen - 1] !== 0xbc || emLen < 2 * hLen + 2) return false;
  const masked = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if ((masked[0]! & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
  const db = xor(masked, mgf1(h, emLen - hLen - 1, hash));
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const psLen = emLen - 2 * hLen - 2;
  if (!db.subarray(0, psLen).every((b) => b === 0) || db[psLen] !== 1) return false;
  return safeEqual(h, pssHash(mHash, db.subarray(db.length - hLen), hash));
}

const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]!));
const safeEqual = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
