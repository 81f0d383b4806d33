/**
 * Where the SDK returns a promise for some input, so do we: invalid params reject it (they never throw
 * synchronously, which a `.catch()` chain would miss) with InputRejectedError, before anything is sent.
 * Size limits measure what the API measures: base64 images and PDFs count toward the request size, not
 * toward the text limit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputRejectedError } from '../src/errors/input-rejected-error';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

/** Calls `make` and returns how it failed: synchronously, or by rejecting its promise. */
async function failureOf(make: () => PromiseLike<unknown>): Promise<{ sync: boolean; error: unknown }> {
  let pending: PromiseLike<unknown>;
  try {
    pending = make();
  } catch (error) {
    return { sync: true, error };
  }
  try {
    await pending;
  } catch (error) {
    return { sync: false, error };
  }
  throw new Error('expected a failure');
}

describe('invalid params reject the returned promise', () => {
  it.each([
    ["messages: 'hello'", { ...params, messages: 'hello' }, 'messages'],
    ["an unknown role inside messages", { ...params, messages: [{ role: 'developer', content: 'be brief' }, ...params.messages] }, 'messages[0].role'],
    ['max_tokens 0', { ...params, max_tokens: 0 }, 'max_tokens'],
  ])('%s: a rejected promise with InputRejectedError naming %s, nothing sent', async (_name, bad, field) => {
    const client = env.client();
    const { sync, error } = await failureOf(() => client.messages.create(bad as never));
    expect(sync).toBe(false);
    expect(error).toBeInstanceOf(InputRejectedError);
    expect(error).toMatchObject({ field });
    // .catch() on the returned value sees it, as with any SDK call
    await expect(client.messages.create(bad as never).catch((e: unknown) => (e as Error).name)).resolves.toBe('InputRejectedError');
    expect(messageRequests(env.server)).toHaveLength(0);
  });

  it('messages.stream() with bad params ends the stream with the error (finalMessage rejects)', async () => {
    const client = env.client();
    const stream = client.messages.stream({ ...params, messages: 'hello' } as never);
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(InputRejectedError);
    expect(messageRequests(env.server)).toHaveLength(0);
  });
});

describe('size limits measure what the API measures', () => {
  const pdf = (bytes: number) => ({
    ...params,
    messages: [
      {
        role: 'user' as const,
        content: [
          { type: 'document' as const, source: { type: 'base64' as const, media_type: 'application/pdf' as const, data: 'A'.repeat(Math.ceil((bytes * 4) / 3)) } },
          { type: 'text' as const, text: 'Summarize this.' },
        ],
      },
    ],
  });

  it('a valid 9 MB PDF (12 MB of base64) passes by default', async () => {
    const client = env.client();
    await expect(client.messages.create(pdf(9 * 1024 * 1024))).resolves.toMatchObject({ type: 'message' });
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('a request over the API limit (32 MiB encoded) is refused locally, nothing uploaded', async () => {
    const client = env.client();
    const error = await client.messages.create(pdf(25 * 1024 * 1024)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputRejectedError);
    expect(error).toMatchObject({ reason: 'too_large' });
    expect((error as Error).message).toContain('maxRequestBytes');
    expect(messageRequests(env.server)).toHaveLength(0);
  });
});
