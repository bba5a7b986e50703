// What a failed request leaves in the log: the error chain's names and messages, never the
// request an SDK error carries (which may hold a DEK on its way to be wrapped).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../src/errors.ts';
import { newLogger } from '../src/log.ts';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { logger: newLogger('info', sink), lines };
}

describe('error logging', () => {
  it('an SDK error\'s request body, headers and config stay out of the log; name, message, code and cause stay in', () => {
    const secret = Buffer.from('a data encryption key, 32 bytes!').toString('base64');
    const sdkError = Object.assign(new Error('{"error":{"code":400,"status":"INVALID_ARGUMENT"}}'), {
      name: 'GaxiosError', code: 400,
      config: { body: JSON.stringify({ plaintext: secret }), headers: { authorization: 'Bearer token-value' } },
      request: { body: secret },
    });
    const { logger, lines } = capture();
    logger.error({ err: new KmsError('UNKNOWN', 'connection "gcp": encrypt failed (unknown)', { cause: sdkError }) }, 'request failed');
    const out = lines.join('');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('token-value');
    const logged = JSON.parse(out).err;
    expect(logged).toMatchObject({ type: 'KmsError', code: 'UNKNOWN', cause: { type: 'GaxiosError', code: 400, message: expect.stringContaining('INVALID_ARGUMENT') } });
  });
});
