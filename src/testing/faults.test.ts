import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeAnthropicServer, faults, type FaultSpec } from './index';

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: Parameters<typeof FakeAnthropicServer.start>[0] = {}, clientOpts = {}) {
  server = await FakeAnthropicServer.start(opts);
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0, ...clientOpts });
  return { server, client };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('status faults map to the SDK error classes', () => {
  const cases: Array<[string, FaultSpec, abstract new (...args: never[]) => Error, number, string]> = [
    ['overloaded', faults.overloaded(), Anthropic.OverloadedError, 529, 'overloaded_error'],
    ['serverError', faults.serverError(), Anthropic.InternalServerError, 500, 'api_error'],
    ['serverError(502)', faults.serverError(502), Anthropic.InternalServerError, 502, 'api_error'],
    ['unavailable', faults.unavailable(), Anthropic.ServiceUnavailableError, 503, 'api_error'],
    ['gatewayTimeout', faults.gatewayTimeout(), Anthropic.GatewayTimeoutError, 504, 'timeout_error'],
    ['requestTimeout', faults.requestTimeout(), Anthropic.RequestTimeoutError, 408, 'timeout_error'],
    ['conflict', faults.conflict(), Anthropic.ConflictError, 409, 'conflict_error'],
    ['unauthorized', faults.unauthorized(), Anthropic.AuthenticationError, 401, 'authentication_error'],
    ['forbidden', faults.forbidden(), Anthropic.PermissionDeniedError, 403, 'permission_error'],
    ['notFound', faults.notFound(), Anthropic.NotFoundError, 404, 'not_found_error'],
    ['badRequest', faults.badRequest('nope'), Anthropic.BadRequestError, 400, 'invalid_request_error'],
    ['tooLarge', faults.tooLarge(), Anthropic.ContentTooLargeError, 413, 'request_too_large'],
    ['rateLimited', faults.rateLimited(), Anthropic.RateLimitError, 429, 'rate_limit_error'],
    ['status(402)', faults.status(402, 'billing_error'), Anthropic.PaymentRequiredError, 402, 'billing_error'],
  ];

  it.each(cases)('%s', async (_name, fault, cls, status, type) => {
    const { server, client } = await start();
    server.inject(fault);
    const err = await errorOf(client.messages.create(params));
    expect(err).toBeInstanceOf(cls);
    const apiErr = err as APIError;
    expect(apiErr.status).toBe(status);
    expect(apiErr.type).toBe(type);
    expect(apiErr.requestID).toMatch(/^req_[0-9A-Za-z]{24}$/);
    expect(apiErr.error).toMatchObject({ type: 'error', error: { type }, request_id: apiErr.requestID });
    expect(server.ledger[0]).toMatchObject({ status, outcome: 'fault', fault: 'status' });
  });

  it('badRequest carries its message; headers pass through', async () => {
    const { server, client } = await start();
    server.inject(faults.badRequest('messages: too many', { headers: { 'x-should-retry': 'false' } }));
    const err = (await errorOf(client.messages.create(params))) as APIError;
    expect(err.apiMessage).toBe('messages: too many');
    expect(err.headers?.get('x-should-retry')).toBe('false');
  });

  it('spendLimit raises EnforcedSpendLimitReachedError (a RateLimitError)', async () => {
    const { server, client } = await start();
    server.inject(faults.spendLimit());
    const err = await errorOf(client.messages.create(params));
    expect(err).toBeInstanceOf(Anthropic.EnforcedSpendLimitReachedError);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as APIError).errorCode).toBe('enforced_spend_limit_reached');
  });

  it('rateLimited sets retry-after / retry-after-ms', async () => {
    const { server, client } = await start();
    server.inject(faults.rateLimited({ retryAfterS: 3, retryAfterMs: 2500 }));
    const err = (await errorOf(client.messages.create(params))) as APIError;
    expect(err.headers?.get('retry-after')).toBe('3');
    expect(err.headers?.get('retry-after-ms')).toBe('2500');
    expect(server.stats().rateLimited).toBe(0); // a faulted 429 is not a bucket 429
    expect(server.stats().faulted).toBe(1);
  });

  it('status faults on streaming requests are plain HTTP errors before any SSE', async () => {
    const { server, client } = await start();
    server.inject(faults.overloaded());
    const err = await errorOf(client.messages.create({ ...params, stream: true }));
    expect(err).toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.stream(params).finalMessage()).rejects.toBeInstanceOf(Anthropic.OverloadedError);
  });
});

describe('connection faults', () => {
  it('reset → APIConnectionError (not a timeout)', async () => {
    const { server, client } = await start();
    server.inject(faults.reset());
    const err = await errorOf(client.messages.create(params));
    expect(err).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(err).not.toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    expect(server.ledger[0]).toMatchObject({ status: 0, outcome: 'fault', fault: 'reset' });
  });

  it('hang → APIConnectionTimeoutError with a short SDK timeout', async () => {
    const { server, client } = await start({}, { timeout: 150 });
    server.inject(faults.hang(), { times: 1 });
    const err = await errorOf(client.messages.create(params));
    expect(err).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    await vi.waitFor(() => expect(server.stats().byStatus['0']).toBe(1), { timeout: 5_000 });
    expect(server.ledger[0]).toMatchObject({ status: 0, outcome: 'fault', fault: 'hang' });
    // The fault was used up, so the server still answers.
    await expect(client.messages.create(params)).resolves.toBeDefined();
  });

  it('close() with a hung request in flight resolves promptly and fails the request', async () => {
    const { server, client } = await start();
    server.inject(faults.hang());
    const pending = errorOf(client.messages.create(params)); // default SDK timeout: 10 minutes
    await vi.waitFor(() => expect(server.ledger).toHaveLength(1), { timeout: 5_000 });
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      server.close().then(() => 'closed'),
      new Promise((resolve) => (timer = setTimeout(() => resolve('stuck'), 10_000))),
    ]);
    clearTimeout(timer);
    expect(closed).toBe('closed');
    expect(await pending).toBeInstanceOf(Anthropic.APIConnectionError);
    await expect(server.close()).resolves.toBeUndefined(); // idempotent
  });

  it('slowHeaders delays, then answers normally', async () => {
    const { server, client } = await start();
    server.inject(faults.slowHeaders(30), { times: 1 });
    const msg = await client.messages.create(params);
    expect(msg.type).toBe('message');
    expect(server.ledger[0]).toMatchObject({ status: 200, outcome: 'ok', fault: 'slowHeaders' });
    expect(server.ledger[0]!.served).toBeDefined();
    expect(server.stats().faulted).toBe(1);
  });
});

describe('stream faults', () => {
  async function collect(stream: AsyncIterable<Anthropic.RawMessageStreamEvent>) {
    const events: Anthropic.RawMessageStreamEvent[] = [];
    let error: unknown;
    try {
      for await (const ev of stream) events.push(ev);
    } catch (e) {
      error = e;
    }
    return { events, error, types: events.map((e) => e.type) };
  }

  it('sseError before the first delta', async () => {
    const { server, client } = await start();
    server.inject(faults.sseError(0));
    const { types, error } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(types).toEqual(['message_start', 'content_block_start']);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiErr = error as APIError;
    expect(apiErr.status).toBeUndefined();
    expect(apiErr.type).toBe('overloaded_error');
    expect(apiErr.requestID).toBe(server.ledger[0]!.requestId);
    expect(server.ledger[0]).toMatchObject({ status: 200, outcome: 'fault', fault: 'sseError' });
    expect(server.ledger[0]!.served).toBeUndefined();
  });

  it('sseError after N deltas with a chosen error type', async () => {
    const { server, client } = await start({ outputTokens: 10 });
    server.inject(faults.sseError(3, 'api_error'));
    const { types, error } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(3);
    expect(types).not.toContain('message_stop');
    expect((error as APIError).type).toBe('api_error');
    await expect(client.messages.stream(params).finalMessage()).rejects.toBeInstanceOf(Anthropic.APIError);
  });

  it('cutStream destroys the connection after N deltas', async () => {
    const { server, client } = await start({ outputTokens: 10 });
    server.inject(faults.cutStream(4));
    const { types, error } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(types).toEqual(['message_start', 'content_block_start', ...Array<string>(4).fill('content_block_delta')]);
    expect(error).toBeDefined();
    expect(server.ledger[0]).toMatchObject({ status: 200, outcome: 'fault', fault: 'cutStream' });
    expect(server.stats().servedResponses).toBe(0);
  });

  it('truncateStream ends cleanly after N deltas with no message_delta/message_stop', async () => {
    const { server, client } = await start({ outputTokens: 10 });
    server.inject(faults.truncateStream(2));
    const { types, error } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(error).toBeUndefined();
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
    expect(server.ledger[0]!.served).toBeUndefined();
  });

  it('afterDeltas beyond the delta count is clamped', async () => {
    const { server, client } = await start({ outputTokens: 3 });
    server.inject(faults.truncateStream(100));
    const { types } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(3);
    expect(types).not.toContain('content_block_stop');
  });

  it('stream-only faults do not match (or use up) non-streaming requests', async () => {
    const { server, client } = await start();
    const handle = server.inject(faults.cutStream(1), { times: 1 });
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(handle.hits).toBe(0);
    const { error } = await collect(await client.messages.create({ ...params, stream: true }));
    expect(error).toBeDefined();
    expect(handle.hits).toBe(1);
    expect(handle.active).toBe(false);
  });
});

describe('injection control', () => {
  it('times is honoured and hits counts applications', async () => {
    const { server, client } = await start();
    const handle = server.inject(faults.overloaded(), { times: 2 });
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(params)).resolves.toBeDefined();
    expect(handle.hits).toBe(2);
    expect(handle.active).toBe(false);
  });

  it('remove() stops the fault', async () => {
    const { server, client } = await start();
    const handle = server.inject(faults.overloaded());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    handle.remove();
    await expect(client.messages.create(params)).resolves.toBeDefined();
    expect(handle.hits).toBe(1);
  });

  it('the SDK retries an injected 529 and the ledger records x-stainless-retry-count', async () => {
    const { server } = await start();
    const client = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 2 });
    server.inject(faults.overloaded({ headers: { 'retry-after-ms': '1' } }), { times: 2 });
    await expect(client.messages.create(params)).resolves.toBeDefined();
    expect(server.ledger.map((r) => [r.retryCount, r.status])).toEqual([
      [0, 529],
      [1, 529],
      [2, 200],
    ]);
  });

  it('probability draws are reproducible for a seed', async () => {
    async function pattern(seed: number): Promise<string> {
      const s = await FakeAnthropicServer.start({ seed });
      try {
        const client = new Anthropic({ baseURL: s.url, apiKey: 'k', maxRetries: 0 });
        s.inject(faults.overloaded(), { probability: 0.5 });
        let out = '';
        for (let i = 0; i < 40; i++) {
          out += await client.messages.create(params).then(
            () => '.',
            () => 'x',
          );
        }
        return out;
      } finally {
        await s.close();
      }
    }
    const a = await pattern(7);
    const b = await pattern(7);
    const c = await pattern(8);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/x/);
    expect(a).toMatch(/\./);
  });

  it('match and paths restrict where a fault applies', async () => {
    const { server, client } = await start();
    server.inject(faults.overloaded(), { match: (r) => r.model === 'claude-opus-4-6' });
    server.inject(faults.notFound(), { paths: ['/v1/models'] });
    await expect(client.messages.create(params)).resolves.toBeDefined();
    await expect(client.messages.create({ ...params, model: 'claude-opus-4-6' })).rejects.toBeInstanceOf(
      Anthropic.OverloadedError,
    );
    await expect(client.models.list()).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.messages.countTokens({ model: 'm', messages: params.messages })).resolves.toBeDefined();
  });

  it('schedule applies faults in order, with ok pass-throughs, before injected faults', async () => {
    const { server, client } = await start();
    const injected = server.inject(faults.serverError());
    const handle = server.schedule(faults.overloaded(), 'ok', faults.rateLimited());
    expect(handle.remaining).toBe(3);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(params)).resolves.toBeDefined();
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    expect(handle.remaining).toBe(0);
    expect(injected.hits).toBe(0);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    expect(injected.hits).toBe(1);
  });

  it('outage hits every endpoint until end()', async () => {
    const { server, client } = await start();
    const outage = server.outage();
    expect(outage.active).toBe(true);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.ServiceUnavailableError);
    await expect(client.models.retrieve('claude-sonnet-4-6')).rejects.toBeInstanceOf(
      Anthropic.ServiceUnavailableError,
    );
    outage.end();
    expect(outage.active).toBe(false);
    await expect(client.messages.create(params)).resolves.toBeDefined();
  });

  it('outage with durationMs ends on the server clock', async () => {
    let now = 1_000_000;
    const { server, client } = await start({ clock: () => now });
    const outage = server.outage(faults.overloaded(), { durationMs: 5_000 });
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    now += 4_999;
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    now += 1;
    expect(outage.active).toBe(false);
    await expect(client.messages.create(params)).resolves.toBeDefined();
  });

  it('clearFaults removes injected, scheduled and outage faults', async () => {
    const { server, client } = await start();
    const h = server.inject(faults.overloaded());
    server.schedule(faults.overloaded());
    server.outage();
    server.clearFaults();
    await expect(client.messages.create(params)).resolves.toBeDefined();
    expect(h.active).toBe(false);
  });

  it('rejects malformed fault specs', async () => {
    const { server } = await start();
    expect(() => server.inject(faults.status(200, 'api_error'))).toThrow(RangeError);
    expect(() => server.inject(faults.cutStream(-1))).toThrow(RangeError);
    expect(() => server.inject(faults.overloaded(), { probability: 2 })).toThrow(RangeError);
  });
});
