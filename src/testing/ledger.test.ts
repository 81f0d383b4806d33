import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeAnthropicServer, faults, type FakeAnthropicOptions, type ServedUsage } from './index';

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: FakeAnthropicOptions = {}) {
  server = await FakeAnthropicServer.start(opts);
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
  return { server, client };
}

const params = (content: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  system: [{ type: 'text', text: 's'.repeat(400), cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content }],
});

function addUsage(total: ServedUsage, u: Anthropic.Usage): void {
  total.inputTokens += u.input_tokens;
  total.outputTokens += u.output_tokens;
  total.cacheReadTokens += u.cache_read_input_tokens ?? 0;
  total.cacheWrite5mTokens += u.cache_creation?.ephemeral_5m_input_tokens ?? 0;
  total.cacheWrite1hTokens += u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
}

describe('ledger and stats', () => {
  it('records every request with its details, in order', async () => {
    const { server, client } = await start({ clock: () => 42 });
    server.schedule(faults.overloaded());
    await client.messages.create(params('a')).catch(() => undefined);
    await client.messages.create({ ...params('b'), stream: true }).then(async (s) => {
      for await (const _ of s) void _;
    });
    await client.models.list();
    const [a, b, c] = server.ledger;
    expect(a).toMatchObject({
      seq: 1,
      at: 42,
      method: 'POST',
      path: '/v1/messages',
      model: 'claude-sonnet-4-6',
      stream: false,
      apiKey: 'test-key',
      retryCount: 0,
      status: 529,
      outcome: 'fault',
      fault: 'status',
      body: params('a'),
    });
    expect(a!.headers['authorization']).toBe('Bearer test-key');
    expect(a!.headers['x-stainless-retry-count']).toBe('0');
    expect(a!.served).toBeUndefined();
    expect(b).toMatchObject({ seq: 2, stream: true, status: 200, outcome: 'ok' });
    expect(b!.served).toEqual({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
      cacheReadTokens: 0,
      cacheWrite5mTokens: 100,
      cacheWrite1hTokens: 0,
    });
    expect(c).toMatchObject({ seq: 3, method: 'GET', path: '/v1/models', status: 200, outcome: 'ok' });
    expect(c!.body).toBeUndefined();
  });

  it('stats().served equals the usage the client received in full, across faults', async () => {
    const { server, client } = await start({ seed: 3, rateLimits: { rpm: 30 }, clock: () => 1_000 }); // frozen: no refill
    server.inject(faults.overloaded(), { probability: 0.15 });
    server.inject(faults.sseError(2), { probability: 0.15 });
    server.inject(faults.cutStream(1), { probability: 0.1 });
    server.inject(faults.truncateStream(3), { probability: 0.1 });
    const clientTotal: ServedUsage = {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    };
    let complete = 0;
    for (let i = 0; i < 60; i++) {
      const body = params(`question ${i % 7}`);
      try {
        if (i % 2 === 0) {
          addUsage(clientTotal, (await client.messages.create(body)).usage);
          complete++;
        } else {
          let stopped = false;
          const stream = client.messages.stream(body);
          stream.on('streamEvent', (e) => {
            if (e.type === 'message_stop') stopped = true;
          });
          const final = await stream.finalMessage();
          if (stopped) {
            addUsage(clientTotal, final.usage);
            complete++;
          }
        }
      } catch {
        // faulted or rate limited: not billed
      }
    }
    const stats = server.stats();
    expect(stats.requests).toBe(60);
    expect(stats.servedResponses).toBe(complete);
    expect(stats.served).toEqual(clientTotal);
    expect(stats.faulted).toBeGreaterThan(0);
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(complete).toBeGreaterThan(0);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    expect(sum(stats.byStatus)).toBe(60);
    expect(sum(stats.byOutcome)).toBe(60);
    expect(stats.byOutcome['rate_limited']).toBe(stats.rateLimited);
    const fromLedger = server.ledger.filter((r) => r.served !== undefined).length;
    expect(fromLedger).toBe(complete);
  });

  it('recordBodies:false and ledgerLimit bound memory but keep exact totals', async () => {
    const { server, client } = await start({ recordBodies: false, ledgerLimit: 3, outputTokens: 5 });
    for (let i = 0; i < 10; i++) await client.messages.create(params(`q${i}`));
    expect(server.ledger.map((r) => r.seq)).toEqual([8, 9, 10]);
    expect(server.ledger.every((r) => r.body === undefined)).toBe(true);
    expect(server.ledger[0]!.model).toBe('claude-sonnet-4-6');
    const stats = server.stats();
    expect(stats.requests).toBe(10);
    expect(stats.servedResponses).toBe(10);
    expect(stats.served.outputTokens).toBe(50);
    expect(stats.byStatus).toEqual({ '200': 10 });
  });

  it('ledgerLimit stays bounded over many requests', async () => {
    const { server } = await start({ recordBodies: false, ledgerLimit: 10, outputTokens: 1 });
    const body = JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    for (let i = 0; i < 1_500; i++) {
      const res = await fetch(`${server.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body });
      await res.arrayBuffer();
    }
    expect(server.ledger).toHaveLength(10);
    expect(server.ledger[9]!.seq).toBe(1_500);
    expect(server.stats().servedResponses).toBe(1_500);
  });

  it('resetLedger clears records and counters', async () => {
    const { server, client } = await start();
    await client.messages.create(params('a'));
    server.resetLedger();
    expect(server.ledger).toEqual([]);
    expect(server.stats()).toMatchObject({ requests: 0, servedResponses: 0, byStatus: {} });
    await client.messages.create(params('a'));
    expect(server.ledger[0]!.seq).toBe(2);
    expect(server.stats().requests).toBe(1);
  });
});

describe('latency', () => {
  it('perDeltaMs paces the stream; a client that leaves early is not counted as served', async () => {
    const { server, client } = await start({ latency: { perDeltaMs: 25 }, outputTokens: 40 });
    const stream = await client.messages.create({ ...params('x'), stream: true });
    let deltas = 0;
    for await (const ev of stream) {
      if (ev.type === 'content_block_delta' && ++deltas === 2) break;
    }
    await vi.waitFor(() => expect(server.stats().byStatus['200']).toBe(1), { timeout: 5_000 });
    expect(server.ledger[0]).toMatchObject({ status: 200, outcome: 'ok' });
    expect(server.ledger[0]!.served).toBeUndefined();
    expect(server.stats().servedResponses).toBe(0);
  });

  it('perDeltaMs stream completes with the same final message as JSON', async () => {
    const { client } = await start({ latency: { perDeltaMs: 1 }, outputTokens: 8 });
    const json = await client.messages.create(params('y'));
    const final = await client.messages.stream(params('y')).finalMessage();
    expect(final.content).toEqual(json.content);
    expect(final.usage.output_tokens).toBe(8);
  });

  it('headersMs delays responses (a short SDK timeout fires); close() clears pending timers', async () => {
    server = await FakeAnthropicServer.start({ latency: { headersMs: [20_000, 30_000] } });
    const client = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 0, timeout: 100 });
    await expect(client.messages.create(params('z'))).rejects.toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    await vi.waitFor(() => expect(server!.ledger[0]?.outcome).toBe('aborted'), { timeout: 5_000 });
    const slow = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
    const pending = slow.messages.create(params('z')).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server!.ledger).toHaveLength(2), { timeout: 5_000 });
    await server.close();
    expect(await pending).toBeInstanceOf(Anthropic.APIConnectionError);
  });
});
