// The token's user PIN, from a file (its first line) or an environment variable; never from the
// configuration itself, and never in an error message.
import { readFileSync } from 'node:fs';
import { KmsError } from '../../src/errors.ts';

export function readPin(source: { pinFile?: string; pinEnv?: string }): string {
  if (source.pinFile !== undefined) {
    try {
      return readFileSync(source.pinFile, 'utf8').split(/\r?\n/, 1)[0]!;
    } catch (cause) {
      throw new KmsError('UNAVAILABLE', `cannot read the PKCS#11 PIN file "${source.pinFile}"`, { cause });
    }
  }
  const pin = process.env[source.pinEnv!];
  if (!pin) throw new KmsError('UNAVAILABLE', `the PKCS#11 PIN variable ${source.pinEnv} is not set`);
  return pin;
}
