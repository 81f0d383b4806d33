import type Redis from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { luaScript, RedisNoAnswerError, runScript, withDeadline } from './scripts';

/** A scripted stand-in for the two ioredis calls runScript makes. */
function fakeClient(evalsha: () => Promise<unknown>) {
  const calls: string[] = [];
  const client = {
    evalsha: (...args: unknown[]) => (calls.push(`evalsha ${args.join(' ')}`), evalsha()),
    eval: (...args: unknown[]) => (calls.push(`eval ${args.length} args`), Promise.resolve('from eval')),
  };
  return { client: client as unknown as Redis, calls };
}

describe('runScript', () => {
  const script = luaScript('return 1');

  it('sends the SHA-1 of the source, not the source', async () => {
    const { client, calls } = fakeClient(() => Promise.resolve('ok'));
    await expect(runScript(client, script, ['k'], ['a'])).resolves.toBe('ok');
    expect(script.sha).toBe('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
    expect(calls).toEqual([`evalsha ${script.sha} 1 k a`]);
  });

  it('falls back to EVAL when Redis no longer has the script (NOSCRIPT)', async () => {
    const { client, calls } = fakeClient(() => Promise.reject(new Error('NOSCRIPT No matching script')));
    await expect(runScript(client, script, ['k'], [])).resolves.toBe('from eval');
    expect(calls).toHaveLength(2);
  });

  it('any other error is the caller’s', async () => {
    const { client, calls } = fakeClient(() => Promise.reject(new Error('READONLY')));
    await expect(runScript(client, script, ['k'], [])).rejects.toThrow('READONLY');
    expect(calls).toHaveLength(1);
  });
});

describe('withDeadline', () => {
  afterEach(() => vi.useRealTimers());

  it('rejects with RedisNoAnswerError when the deadline passes first, and swallows the late failure', async () => {
    vi.useFakeTimers();
    let fail!: (error: Error) => void;
    const never = new Promise<string>((_, reject) => (fail = reject));
    const bounded = withDeadline(never, 1_000);
    vi.advanceTimersByTime(1_000);
    await expect(bounded).rejects.toBeInstanceOf(RedisNoAnswerError);
    fail(new Error('late'));
    await Promise.resolve();
  });

  it('passes the answer (or the error) through when it comes in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000)).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('ERR')), 1_000)).rejects.toThrow('ERR');
  });
});
