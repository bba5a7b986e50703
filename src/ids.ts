// Gateway ids are prefixed, time-ordered ULIDs (`key_01J…`), so list pages can use the id as cursor.
import { monotonicFactory } from 'ulidx';
import { random } from './crypto/random.ts';

// ulidx's default PRNG asks webcrypto per character; the pooled CSPRNG does the same for less.
const ulid = monotonicFactory(() => random(4).readUInt32BE(0) / 0x1_0000_0000);
export type IdPrefix = 'key' | 'bnd' | 'evt' | 'req' | 'job' | 'pol' | 'aud' | 'ak' | 'apr' | 'bak';

export const newId = (prefix: IdPrefix): string => `${prefix}_${ulid().toLowerCase()}`;
