// The base64 check accepts exactly what zod's base64 format accepts.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBase64 } from '../src/http/schemas.ts';

describe('isBase64', () => {
  it('agrees with zod.base64() on valid, invalid and edge-case strings', () => {
    const samples = ['', 'aGVsbG8=', 'aGVsbG8', 'aGVsbA==', 'aGVsbA=', 'a===', '====', 'ab=c', 'ab==', 'abc=', '+/+/', '-_-_', 'a b=', 'aGVs\nbG8=', 'YQ==YQ=='];
    for (let i = 0; i < 200; i++) samples.push(Buffer.from(Array.from({ length: i }, (_, j) => (i * 31 + j * 7) & 0xff)).toString('base64'));
    for (const s of samples) expect([s, isBase64(s)]).toEqual([s, z.base64().safeParse(s).success]);
  });
});
