// Hedged attempts (who is asked when, who wins, what becomes of late answers and failures) and gathering with a deadline after the first answer.
import { describe, expect, it } from 'vitest';
import { gather, hedge } from '../src/routing/hedge.ts';

const after = <T>(ms: number, value: T, fail = false) => new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(value) : resolve(value)), ms));
const never = () => new Promise<string>(() => {});
const options = { afterMs: 20, fatal: (e: unknown) => e === 'fatal' };

describe('hedge', () => {
  it('asks only the first when it answers in time', async () => {
    const asked: number[] = [];
    const won = await hedge(3, (i) => { asked.push(i); return after(1, `v${i}`); }, options);
    expect(won).toEqual({ value: 'v0', index: 0, passed: [] });
    expect(asked).toEqual([0]);
  });

  it('asks the next when one has not answered within the delay, and the first answer wins', async () => {
    const won = await hedge(3, (i) => (i === 0 ? never() : after(1, `v${i}`)), options);
    expect(won).toEqual({ value: 'v1', index: 1, passed: [0] });
  });

  it('asks the next at once when one fails, and reports it passed', async () => {
    // With a minute's delay, only the failure can have started the second within the test's 5 s.
    const asked: number[] = [];
    const won = await hedge(3, (i) => { asked.push(i); return i === 0 ? after(1, 'down', true) : after(1, `v${i}`); }, { ...options, afterMs: 60_000 });
    expect(won).toEqual({ value: 'v1', index: 1, passed: [0] });
    expect(asked).toEqual([0, 1]);
  }, 5_000);

  it('stops at a fatal error without asking further', async () => {
    const asked: number[] = [];
    await expect(hedge(3, (i) => { asked.push(i); return after(1, 'fatal', true); }, options)).rejects.toBe('fatal');
    expect(asked).toEqual([0]);
  });

  it('rejects with the last error once every attempt failed', async () => {
    // All three asked, then failing in reverse order: the first attempt's error comes last.
    const fail: ((e: string) => void)[] = [];
    const outcome = hedge(3, () => new Promise<string>((_, reject) => { fail.push(reject); }), { ...options, afterMs: 1 });
    while (fail.length < 3) await after(2, null);
    for (const i of [2, 1, 0]) fail[i]!(`e${i}`);
    await expect(outcome).rejects.toBe('e0');
  });

  it('hands a success that comes after the winner to late', async () => {
    const late: string[] = [];
    const won = await hedge(2, (i) => (i === 0 ? after(60, 'slow') : after(1, 'fast')), { ...options, late: (v) => late.push(v) });
    expect(won.value).toBe('fast');
    await after(80, null);
    expect(late).toEqual(['slow']);
  });
});

describe('gather', () => {
  it('waits for every answer that comes in time', async () => {
    expect(await gather([after(1, 'a'), after(5, 'b', true), after(10, 'c')], 1_000)).toEqual(['a', undefined, 'c']);
  });

  it('gives up on the rest once the delay after the first success has passed', async () => {
    expect(await gather([after(1, 'a'), never(), after(1, 'c')], 20)).toEqual(['a', undefined, 'c']);
  }, 5_000);

  it('rejects with the first error when nothing succeeds', async () => {
    await expect(gather([after(5, 'e0', true), after(1, 'e1', true)], 20)).rejects.toBe('e0');
  });
});
