// The DER DigestInfo that RSASSA-PKCS1-v1_5 signs (RFC 8017 §9.2): a fixed prefix per hash, then
// the digest. Providers that sign precomputed digests with a raw PKCS#1 primitive need it.
import type { HashName } from '../keys/specs.ts';

const prefix: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

export const digestInfo = (hash: HashName, digest: Uint8Array): Buffer => Buffer.concat([prefix[hash], digest]);
