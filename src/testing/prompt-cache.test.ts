import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { countInputTokens, FakeAnthropicServer, type FakeAnthropicOptions } from './index';

const MODEL = 'claude-sonnet-4-6';
const BIG = 'x'.repeat(4_000); // 1000 tokens
const OTHER = 'y'.repeat(800); // 200 tokens

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: FakeAnthropicOptions = {}) {
  let now = 1_767_225_600_000;
  server = await FakeAnthropicServer.start({ clock: () => now, ...opts });
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
  return {
    server,
    client,
    advance: (ms: number) => {
      now += ms;
    },
    usage: async (body: Anthropic.MessageCreateParamsNonStreaming) => (await client.messages.create(body)).usage,
  };
}

function body(
  system: Anthropic.TextBlockParam[],
  user = 'question',
  extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {},
): Anthropic.MessageCreateParamsNonStreaming {
  return { model: MODEL, max_tokens: 50, system, messages: [{ role: 'user', content: user }], ...extra };
}

describe('prompt cache simulation', () => {
  it('writes on a miss, reads on a hit; input_tokens is the rest', async () => {
    const { usage } = await start();
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]);
    const rest = countInputTokens(req) - 1000;
    const miss = await usage(req);
    expect(miss).toMatchObject({
      input_tokens: rest,
      cache_creation_input_tokens: 1000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
    });
    const hit = await usage(body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }], 'another question'));
    expect(hit).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    });
  });

  it('splits writes by each breakpoint ttl (1h tools, then 5m system)', async () => {
    const { usage } = await start();
    const tool = { name: 'lookup', description: OTHER, input_schema: { type: 'object' as const } };
    const toolTokens = countInputTokens({ tools: [tool] });
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral', ttl: '5m' } }], 'q', {
      tools: [{ ...tool, cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    const first = await usage(req);
    expect(first.cache_creation).toEqual({ ephemeral_1h_input_tokens: toolTokens, ephemeral_5m_input_tokens: 1000 });
    expect(first.cache_creation_input_tokens).toBe(toolTokens + 1000);
    expect(first.input_tokens).toBe(countInputTokens(req) - toolTokens - 1000);
    const second = await usage(req);
    expect(second.cache_read_input_tokens).toBe(toolTokens + 1000);
  });

  it('a 1h marker is reported as ephemeral_1h and outlives 5 minutes', async () => {
    const { usage, advance } = await start();
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    expect((await usage(req)).cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 });
    advance(30 * 60_000);
    expect((await usage(req)).cache_read_input_tokens).toBe(1000);
  });

  it('expires after the TTL on the server clock, and a hit refreshes the TTL', async () => {
    const { usage, advance } = await start();
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]);
    await usage(req); // write at t
    advance(4 * 60_000);
    expect((await usage(req)).cache_read_input_tokens).toBe(1000); // hit at t+4m → expires t+9m
    advance(4 * 60_000);
    expect((await usage(req)).cache_read_input_tokens).toBe(1000); // t+8m: still alive thanks to the refresh
    advance(5 * 60_000);
    const expired = await usage(req); // t+13m: 5 minutes after the last hit
    expect(expired.cache_read_input_tokens).toBe(0);
    expect(expired.cache_creation_input_tokens).toBe(1000);
  });

  it('a different prefix or model misses; cache_control markers do not change the key', async () => {
    const { usage } = await start();
    await usage(body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]));
    const otherText = await usage(body([{ type: 'text', text: `${BIG}!`, cache_control: { type: 'ephemeral' } }]));
    expect(otherText.cache_read_input_tokens).toBe(0);
    const otherModel = await usage({
      ...body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]),
      model: 'claude-opus-4-6',
    });
    expect(otherModel.cache_read_input_tokens).toBe(0);
    const ttlChanged = await usage(body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral', ttl: '1h' } }]));
    expect(ttlChanged.cache_read_input_tokens).toBe(1000);
  });

  it('the longest live prefix is read and only the new part is written (growing conversation)', async () => {
    const { usage } = await start();
    const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }];
    const turn1: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: OTHER, cache_control: { type: 'ephemeral' } }] },
    ];
    const first = await usage({ model: MODEL, max_tokens: 50, system, messages: turn1 });
    expect(first.cache_creation_input_tokens).toBe(1000 + 3 + 200);
    expect(first.input_tokens).toBe(0);
    const turn2: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: OTHER }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: OTHER, cache_control: { type: 'ephemeral' } }] },
    ];
    const second = await usage({ model: MODEL, max_tokens: 50, system, messages: turn2 });
    expect(second.cache_read_input_tokens).toBe(1203);
    expect(second.cache_creation_input_tokens).toBe(3 + 1 + 3 + 200);
    expect(second.input_tokens).toBe(0);
  });

  it('top-level cache_control marks the last block', async () => {
    const { usage } = await start();
    const req = {
      ...body([{ type: 'text', text: BIG }], OTHER),
      cache_control: { type: 'ephemeral' as const },
    };
    const first = await usage(req);
    expect(first.cache_creation_input_tokens).toBe(countInputTokens(req));
    expect((await usage(req)).cache_read_input_tokens).toBe(countInputTokens(req));
  });

  it('prefixes below cacheMinTokens are not cached', async () => {
    const { usage } = await start({ cacheMinTokens: 1024 });
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]);
    const u = await usage(req);
    expect(u.cache_creation_input_tokens).toBe(0);
    expect(u.input_tokens).toBe(countInputTokens(req));
  });

  it('stream usage carries the same cache split as JSON', async () => {
    const { client } = await start();
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]);
    const write = await client.messages.stream(req).finalMessage();
    expect(write.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 });
    const read = await client.messages.stream(req).finalMessage();
    const json = await client.messages.create(req);
    expect(read.usage).toEqual(json.usage);
    expect(json.usage.cache_read_input_tokens).toBe(1000);
  });

  it('a rate-limited request does not write the cache', async () => {
    const { client, usage } = await start({ rateLimits: { rpm: 1 } });
    const req = body([{ type: 'text', text: BIG, cache_control: { type: 'ephemeral' } }]);
    await usage(body([{ type: 'text', text: 'uncached' }]));
    await expect(client.messages.create(req)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    server!.setRateLimits(null);
    expect((await usage(req)).cache_creation_input_tokens).toBe(1000);
  });
});
