import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { countInputTokens, FakeAnthropicServer, faults, type FakeAnthropicOptions } from './index';
import { RateLimiter } from './rate-buckets';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};
const INPUT = countInputTokens(params); // 3 + ceil(5/4) = 5

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: FakeAnthropicOptions) {
  let now = T0;
  server = await FakeAnthropicServer.start({ clock: () => now, outputTokens: 10, ...opts });
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
  return {
    server,
    client,
    advance: (ms: number) => {
      now += ms;
    },
    call: (body: Anthropic.MessageCreateParamsNonStreaming = params) => client.messages.create(body).withResponse(),
  };
}

async function rejection(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    return e as APIError;
  }
  throw new Error('expected a rejection');
}

describe('rate limits (fake server, injected clock)', () => {
  it('sends no ratelimit headers when unlimited', async () => {
    const { call } = await start({});
    const { response } = await call();
    expect([...response.headers.keys()].filter((k) => k.startsWith('anthropic-ratelimit'))).toEqual([]);
  });

  it('RPM exhaustion → 429 rate_limit_error with retry-after and headers; nothing consumed', async () => {
    const { server, client, call, advance } = await start({ rateLimits: { rpm: 2 } });
    const first = await call();
    expect(first.response.headers.get('anthropic-ratelimit-requests-limit')).toBe('2');
    expect(first.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1');
    expect(first.response.headers.get('anthropic-ratelimit-requests-reset')).toBe(iso(T0 + 30_000));
    await call();
    const err = await rejection(client.messages.create(params));
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.type).toBe('rate_limit_error');
    expect(err.apiMessage).toMatch(/2 requests per minute/);
    expect(err.headers?.get('retry-after')).toBe('30');
    expect(err.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(err.headers?.get('anthropic-ratelimit-requests-reset')).toBe(iso(T0 + 60_000));
    expect(server.stats().rateLimited).toBe(1);
    expect(server.ledger[2]).toMatchObject({ status: 429, outcome: 'rate_limited' });

    // Refill is continuous: after 29.999 s there is still not a whole request token …
    advance(29_999);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    // … and the 429s consumed nothing, so at 30 s exactly one request fits.
    advance(1);
    const ok = await call();
    expect(ok.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
  });

  it('ITPM: input tokens drain the bucket; retry-after is the ceil of the wait', async () => {
    const { client, call, advance } = await start({ rateLimits: { itpm: 8 } });
    const first = await call();
    expect(first.response.headers.get('anthropic-ratelimit-input-tokens-remaining')).toBe(String(8 - INPUT));
    // level 3, need 5 → 2 tokens at 8/60000 per ms → 15000 ms
    const err = await rejection(client.messages.create(params));
    expect(err.apiMessage).toMatch(/8 input tokens per minute/);
    expect(err.headers?.get('retry-after')).toBe('15');
    advance(15_000);
    await expect(call()).resolves.toBeDefined();
  });

  it('OTPM reserves max_tokens up front and refunds the unused part', async () => {
    const { client, call } = await start({ rateLimits: { otpm: 1000 }, outputTokens: 10 });
    const big = { ...params, max_tokens: 600 };
    const first = await call(big);
    // Headers are computed after the reservation: 1000 − 600.
    expect(first.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('400');
    // The 590 unused tokens came back, so a second 600-token reservation fits (990 − 600).
    const second = await call(big);
    expect(second.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('390');
    // After the second refund the bucket holds 980: a 985-token reservation does not fit.
    const err = await rejection(client.messages.create({ ...params, max_tokens: 985 }));
    expect(err.apiMessage).toMatch(/1000 output tokens per minute/);
    expect(err.headers?.get('anthropic-ratelimit-output-tokens-remaining')).toBe('980');
  });

  it('streams refund output once the stream has been written', async () => {
    const { client, call } = await start({ rateLimits: { otpm: 1000 }, outputTokens: 10 });
    await client.messages.stream({ ...params, max_tokens: 600 }).finalMessage();
    const next = await call({ ...params, max_tokens: 600 });
    expect(next.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('390');
  });

  it('remaining/reset header values, tokens-* = the tighter of input/output, roundRemaining', async () => {
    const { call, advance } = await start({
      rateLimits: { rpm: 10, itpm: 10_000, otpm: 2_000, roundRemaining: 100 },
    });
    const { response: r } = await call();
    const h = (name: string) => r.headers.get(`anthropic-ratelimit-${name}`);
    expect(h('requests-remaining')).toBe('9');
    expect(h('requests-reset')).toBe(iso(T0 + 6_000));
    expect(h('input-tokens-remaining')).toBe('9900'); // 9995 rounded down to a multiple of 100
    // 5 tokens at 10000/60000 per ms → 30 ms → rounded up to the next whole second.
    expect(h('input-tokens-reset')).toBe(iso(T0 + 1_000));
    expect(h('output-tokens-remaining')).toBe('1900'); // 2000 − 100 reserved
    expect(h('output-tokens-reset')).toBe(iso(T0 + 3_000));
    expect(h('tokens-limit')).toBe('2000');
    expect(h('tokens-remaining')).toBe('1900');
    expect(h('tokens-reset')).toBe(iso(T0 + 3_000));

    advance(6_000);
    const { response: later } = await call();
    expect(later.headers.get('anthropic-ratelimit-requests-remaining')).toBe('9');
  });

  it('setRateLimits mid-run keeps the fill ratio; null removes limits', async () => {
    const { server, client, call } = await start({ rateLimits: { rpm: 10 } });
    for (let i = 0; i < 5; i++) await call();
    server.setRateLimits({ rpm: 4 }); // 5/10 full → 2/4 full
    const a = await call();
    expect(a.response.headers.get('anthropic-ratelimit-requests-limit')).toBe('4');
    expect(a.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1');
    await call();
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);

    server.setRateLimits({ rpm: 4, itpm: 50 }); // new dimension starts full
    const b = await rejection(client.messages.create(params));
    expect(b.headers?.get('anthropic-ratelimit-input-tokens-remaining')).toBe('50');

    server.setRateLimits(null);
    const free = await call();
    expect(free.response.headers.get('anthropic-ratelimit-requests-limit')).toBeNull();
  });

  it('a request larger than a bucket is admitted once the bucket is full, and empties it', async () => {
    const { client, call, advance } = await start({ rateLimits: { otpm: 50 } });
    const first = await call({ ...params, max_tokens: 500 });
    expect(first.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('0');
    const err = await rejection(client.messages.create({ ...params, max_tokens: 500 }));
    // 10 output tokens were used; 40 refunded → level 40, needs the full 50 → 10 tokens at 50/min = 12 s.
    expect(err.headers?.get('retry-after')).toBe('12');
    advance(12_000);
    await expect(call({ ...params, max_tokens: 500 })).resolves.toBeDefined();
  });

  it('faults take precedence over rate limiting and consume nothing', async () => {
    const { server, client, call } = await start({ rateLimits: { rpm: 1 } });
    server.inject(faults.overloaded(), { times: 3 });
    for (let i = 0; i < 3; i++) await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    const ok = await call();
    expect(ok.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
  });

  it('cache-aware ITPM ignores cache reads; non-cache-aware counts them', async () => {
    const cached: Anthropic.MessageCreateParamsNonStreaming = {
      ...params,
      system: [{ type: 'text', text: 'x'.repeat(400), cache_control: { type: 'ephemeral' } }], // 100 tokens
    };
    const total = countInputTokens(cached); // 105
    const aware = await start({ rateLimits: { itpm: 200 } });
    await aware.call(cached); // writes 100, input 5: 105 consumed → 95 left
    const hit = await aware.call(cached); // reads 100: only 5 count
    expect(hit.data.usage.cache_read_input_tokens).toBe(100);
    expect(hit.response.headers.get('anthropic-ratelimit-input-tokens-remaining')).toBe(String(200 - total - 5));
    await server!.close();

    const strict = await start({ rateLimits: { itpm: 200, cacheAwareInput: false } });
    await strict.call(cached);
    await expect(strict.client.messages.create(cached)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
  });
});

describe('RateLimiter unit', () => {
  it('rejects non-positive limits', () => {
    expect(() => new RateLimiter({ rpm: 0 }, 0)).toThrow(RangeError);
    expect(() => new RateLimiter({ windowMs: -1 }, 0)).toThrow(RangeError);
  });

  it('honours a custom window', () => {
    const rl = new RateLimiter({ rpm: 1, windowMs: 1_000 }, 0);
    expect(rl.admit({ inputTokens: 0, maxOutputTokens: 0 }, 0).ok).toBe(true);
    const no = rl.admit({ inputTokens: 0, maxOutputTokens: 0 }, 500);
    expect(no).toMatchObject({ ok: false, retryAfterS: 1, dimension: 'requests' });
    expect(rl.admit({ inputTokens: 0, maxOutputTokens: 0 }, 1_000).ok).toBe(true);
  });

  it('release is idempotent and never overfills', () => {
    const rl = new RateLimiter({ otpm: 100 }, 0);
    const a = rl.admit({ inputTokens: 0, maxOutputTokens: 60 }, 0);
    if (!a.ok) throw new Error('unreachable');
    rl.release(a.reservation, 10, 0);
    rl.release(a.reservation, 10, 0);
    expect(rl.headers(0)['anthropic-ratelimit-output-tokens-remaining']).toBe('90');
    const b = rl.admit({ inputTokens: 0, maxOutputTokens: 10 }, 0);
    if (!b.ok) throw new Error('unreachable');
    rl.release(b.reservation, 0, 60_000);
    expect(rl.headers(60_000)['anthropic-ratelimit-output-tokens-remaining']).toBe('100');
  });
});
