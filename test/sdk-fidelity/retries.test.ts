/**
 * Retries keep the SDK's observable contract: the caller's `maxRetries` is the budget (per request or per
 * client), the retry-count header, server hints, aborts and exact fetch counts (catalogue §3.1 "retries",
 * §5; R3, R4, R6, R7, R8, R10, R11). The SDK's own backoff floor (355 ms) is deliberately not tested: it pins
 * the SDK's timing, which we replace.
 */
import Anthropic, { APIConnectionError, APIUserAbortError, InternalServerError, RateLimitError } from '@anthropic-ai/sdk';
import { describe, expect, test, vi } from 'vitest';
import { apiError, isolateEnv, json, makeClient, PARAMS, rejectionOf, untilAborted, type StubFetch } from './helpers';

isolateEnv();

/** A fetch that answers with `responses` in order (the last one repeats) and records every `init`. */
function scripted(...responses: Array<() => Response | Promise<Response>>) {
  const inits: RequestInit[] = [];
  const times: number[] = [];
  const fetch: StubFetch = async (_url, init) => {
    inits.push(init ?? {});
    times.push(performance.now());
    const next = responses[Math.min(inits.length - 1, responses.length - 1)]!;
    return next();
  };
  return { fetch, inits, times, get count() { return inits.length; } };
}

const rateLimited = (headers: Record<string, string>) => () => apiError(429, 'rate_limit_error', headers);
const ok = () => json();

describe('retry on timeout', () => {
  test('an attempt that times out (10 ms) is retried, and the client keeps working', async () => {
    let count = 0;
    const client = makeClient({
      timeout: 10,
      fetch: async (_url, init) => {
        count++;
        if (count === 1) return untilAborted(init?.signal, new Error('timed out'));
        return json({ a: 1 });
      },
    });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(count).toBe(2);

    const response = await client.request({ path: '/foo', method: 'get' }).asResponse();
    expect(await response.text()).toBe('{"a":1}');
    expect(count).toBe(3);
  });

  test('the retry after a timeout gets a signal that is not already aborted', async () => {
    const signals: Array<AbortSignal | null | undefined> = [];
    const client = makeClient({
      timeout: 10,
      fetch: async (_url, init) => {
        signals.push(init?.signal);
        if (signals.length === 1) return untilAborted(init?.signal, new Error('timed out'));
        if (init?.signal?.aborted) throw new DOMException('already aborted', 'AbortError');
        return json();
      },
    });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(false);
  });

  test('timeouts on every attempt end in APIConnectionTimeoutError after maxRetries + 1 attempts', async () => {
    let count = 0;
    const client = makeClient({
      timeout: 10,
      maxRetries: 2,
      fetch: async (_url, init) => {
        count++;
        return untilAborted(init?.signal, new Error('timed out'));
      },
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(error.constructor.name).toBe('APIConnectionTimeoutError');
    expect(count).toBe(3);
  });
});

describe('x-stainless-retry-count header (R7)', () => {
  const twoLimitsThenOk = () => scripted(rateLimited({ 'retry-after': '0.1' }), rateLimited({ 'retry-after': '0.1' }), ok);

  test('counts the attempts: 0, 1, 2', async () => {
    const stub = twoLimitsThenOk();
    const client = makeClient({ maxRetries: 4, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(3);
    expect(stub.inits.map((i) => new Headers(i.headers).get('x-stainless-retry-count'))).toEqual(['0', '1', '2']);
  });

  test('is omitted on every attempt when the request sets it to null', async () => {
    const stub = twoLimitsThenOk();
    const client = makeClient({ maxRetries: 4, fetch: stub.fetch });
    await client.request({ path: '/foo', method: 'get', headers: { 'X-Stainless-Retry-Count': null } });
    expect(stub.count).toBe(3);
    for (const init of stub.inits) expect(new Headers(init.headers).has('x-stainless-retry-count')).toBe(false);
  });

  test('is omitted on every attempt when defaultHeaders set it to null', async () => {
    const stub = twoLimitsThenOk();
    const client = makeClient({ maxRetries: 4, fetch: stub.fetch, defaultHeaders: { 'X-Stainless-Retry-Count': null } });
    await client.request({ path: '/foo', method: 'get' });
    expect(stub.count).toBe(3);
    for (const init of stub.inits) expect(new Headers(init.headers).has('x-stainless-retry-count')).toBe(false);
  });

  test("keeps a caller's own value ('42') on every attempt", async () => {
    const stub = twoLimitsThenOk();
    const client = makeClient({ maxRetries: 4, fetch: stub.fetch });
    await client.request({ path: '/foo', method: 'get', headers: { 'X-Stainless-Retry-Count': '42' } });
    expect(stub.count).toBe(3);
    expect(stub.inits.map((i) => new Headers(i.headers).get('x-stainless-retry-count'))).toEqual(['42', '42', '42']);
  });
});

describe('server retry hints (R6)', () => {
  // A huge backoff base: if the hint were ignored, these tests would take 20 s.
  const slowBackoff = { baseDelayMs: 20_000, jitter: false };

  test('retry-after (seconds) is honoured instead of the backoff', async () => {
    const stub = scripted(rateLimited({ 'retry-after': '0.1' }), ok);
    const client = makeClient({ retry: slowBackoff, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(2);
    const waited = stub.times[1]! - stub.times[0]!;
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(5_000);

    const response = await client.request({ path: '/foo', method: 'get' }).asResponse();
    expect(await response.json()).toEqual({ a: 1 });
    expect(stub.count).toBe(3);
  });

  test('retry-after-ms is honoured instead of the backoff', async () => {
    const stub = scripted(rateLimited({ 'retry-after-ms': '10' }), ok);
    const client = makeClient({ retry: slowBackoff, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(2);
    const waited = stub.times[1]! - stub.times[0]!;
    expect(waited).toBeGreaterThanOrEqual(9);
    expect(waited).toBeLessThan(5_000);

    await client.request({ path: '/foo', method: 'get' }).asResponse();
    expect(stub.count).toBe(3);
  });

  test('retry-after-ms takes precedence over retry-after', async () => {
    const stub = scripted(rateLimited({ 'retry-after-ms': '10', 'retry-after': '60' }), ok);
    const client = makeClient({ retry: slowBackoff, fetch: stub.fetch });
    await client.request({ path: '/foo', method: 'get' });
    expect(stub.times[1]! - stub.times[0]!).toBeLessThan(5_000);
  });

  test('an HTTP-date retry-after is honoured', async () => {
    const stub = scripted(() => apiError(429, 'rate_limit_error', { 'retry-after': new Date(Date.now() + 1_500).toUTCString() }), ok);
    const client = makeClient({ retry: slowBackoff, fetch: stub.fetch });
    await client.request({ path: '/foo', method: 'get' });
    expect(stub.count).toBe(2);
    // HTTP dates have 1 s resolution: the wait is somewhere in (0.5 s, 1.5 s].
    const waited = stub.times[1]! - stub.times[0]!;
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(5_000);
  });

  test.each(['junk', '0', '-1', 'Thu, 01 Jan 1970 00:00:00 GMT', '2147484'])(
    'an unusable retry-after (%j) falls back to the backoff and still retries',
    async (value) => {
      const stub = scripted(rateLimited({ 'retry-after': value }), ok);
      // Exact 50 ms backoff (no jitter): proves the fallback is the backoff, not the (absent) hint.
      const client = makeClient({ retry: { baseDelayMs: 50, jitter: false }, fetch: stub.fetch });
      expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
      expect(stub.count).toBe(2);
      const waited = stub.times[1]! - stub.times[0]!;
      expect(waited).toBeGreaterThanOrEqual(45);
      expect(waited).toBeLessThan(5_000);
    },
  );
});

describe('aborting (R8)', () => {
  test('an abort during a retry-after sleep ends the call at once with APIUserAbortError', async () => {
    const controller = new AbortController();
    let count = 0;
    const client = makeClient({
      fetch: async () => {
        count++;
        setTimeout(() => controller.abort(), 50);
        return apiError(429, 'rate_limit_error', { 'retry-after': '60' });
      },
    });
    const started = Date.now();
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get', signal: controller.signal }));
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(count).toBe(1);
  });

  test('an abort during a backoff sleep ends the call at once with APIUserAbortError', async () => {
    const controller = new AbortController();
    let count = 0;
    const client = makeClient({
      retry: { baseDelayMs: 60_000, jitter: false },
      fetch: async () => {
        count++;
        setTimeout(() => controller.abort(), 50);
        return apiError(500);
      },
    });
    const started = Date.now();
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get', signal: controller.signal }));
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(count).toBe(1);
  });

  test('a caller abort of an in-flight attempt is not retried, and request() is entered once', async () => {
    const controller = new AbortController();
    let count = 0;
    const client = makeClient({
      fetch: async (_url, init) => {
        count++;
        return untilAborted(init?.signal);
      },
    });
    const spy = vi.spyOn(client, 'request');
    setTimeout(() => controller.abort(), 50);
    const error = await rejectionOf(client.get('/foo', { signal: controller.signal }));
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(count).toBe(1);
  });

  test('an already aborted signal sends nothing', async () => {
    let count = 0;
    const client = makeClient({
      fetch: async () => {
        count++;
        return json();
      },
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get', signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(count).toBe(0);
  });
});

describe('retry budget = the caller maxRetries (R4), exact fetch counts', () => {
  const alwaysFailing = () => scripted(() => apiError(500));

  test.each([
    [undefined, undefined, 3],
    [0, undefined, 1],
    [1, undefined, 2],
    [4, undefined, 5],
    [5, 0, 1],
    [5, 1, 2],
    [0, 2, 3],
  ] as const)('client maxRetries %s, per-request %s → %s fetches', async (clientRetries, requestRetries, expected) => {
    const stub = alwaysFailing();
    const client = makeClient({ fetch: stub.fetch, ...(clientRetries === undefined ? {} : { maxRetries: clientRetries }) });
    const error = await rejectionOf(
      client.request({ path: '/foo', method: 'get', ...(requestRetries === undefined ? {} : { maxRetries: requestRetries }) }),
    );
    expect(error).toBeInstanceOf(InternalServerError);
    expect(stub.count).toBe(expected);
  });

  test('client.maxRetries changed at runtime is the budget of later calls', async () => {
    const stub = alwaysFailing();
    const client = makeClient({ fetch: stub.fetch, maxRetries: 0 });
    client.maxRetries = 3;
    await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(stub.count).toBe(4);
  });

  test('succeeds on the last allowed attempt', async () => {
    const stub = scripted(() => apiError(503), () => apiError(503), ok);
    const client = makeClient({ maxRetries: 2, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(3);
  });

  test('one options object used for two calls keeps its own maxRetries (never mutated)', async () => {
    const stub = alwaysFailing();
    const client = makeClient({ fetch: stub.fetch, maxRetries: 0 });
    const options = { path: '/foo', method: 'get' as const, maxRetries: 1 };
    await rejectionOf(client.request(options));
    await rejectionOf(client.request(options));
    expect(stub.count).toBe(4);
    expect(options).toEqual({ path: '/foo', method: 'get', maxRetries: 1 });
  });

  test('resource methods use the same budget (messages.create)', async () => {
    const stub = alwaysFailing();
    const client = makeClient({ fetch: stub.fetch, maxRetries: 1 });
    await rejectionOf(client.messages.create(PARAMS));
    expect(stub.count).toBe(2);
  });

  test('list endpoints (requestAPIList) use the same budget, not the SDK loop on top', async () => {
    const page = { data: [], has_more: false, first_id: null, last_id: null };
    const stub = scripted(() => apiError(500), () => json(page));
    const client = makeClient({ fetch: stub.fetch, maxRetries: 1 });
    const result = await client.messages.batches.list();
    expect(result.data).toEqual([]);
    expect(stub.count).toBe(2);

    const failing = alwaysFailing();
    const strict = makeClient({ fetch: failing.fetch, maxRetries: 1 });
    await rejectionOf(strict.beta.messages.batches.list());
    expect(failing.count).toBe(2);

    const none = alwaysFailing();
    await rejectionOf(makeClient({ fetch: none.fetch, maxRetries: 0 }).messages.batches.list());
    expect(none.count).toBe(1);
  });

  test('a 429 that is retried and then succeeds returns the success', async () => {
    const stub = scripted(rateLimited({ 'retry-after-ms': '1' }), ok);
    const client = makeClient({ maxRetries: 1, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(2);
  });

  test('a 429 on every attempt ends with RateLimitError after maxRetries + 1 fetches', async () => {
    const stub = scripted(rateLimited({ 'retry-after-ms': '1' }));
    const client = makeClient({ maxRetries: 2, fetch: stub.fetch });
    expect(await rejectionOf(client.request({ path: '/foo', method: 'get' }))).toBeInstanceOf(RateLimitError);
    expect(stub.count).toBe(3);
  });
});

describe('what is retried (R11 parity)', () => {
  test.each([408, 409, 429, 500, 502, 503, 529])('status %s is retried', async (status) => {
    const stub = scripted(() => apiError(status, 'api_error', { 'retry-after-ms': '1' }), ok);
    const client = makeClient({ maxRetries: 1, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(2);
  });

  test.each([400, 401, 403, 404, 422])('status %s is not retried', async (status) => {
    const stub = scripted(() => apiError(status, 'invalid_request_error'));
    const client = makeClient({ maxRetries: 2, fetch: stub.fetch });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(error.status).toBe(status);
    expect(stub.count).toBe(1);
  });

  test('x-should-retry: true makes a 400 retryable', async () => {
    const stub = scripted(() => apiError(400, 'invalid_request_error', { 'x-should-retry': 'true', 'retry-after-ms': '1' }), ok);
    const client = makeClient({ maxRetries: 1, fetch: stub.fetch });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(stub.count).toBe(2);
  });

  test('x-should-retry: false makes a 500 final', async () => {
    const stub = scripted(() => apiError(500, 'api_error', { 'x-should-retry': 'false' }));
    const client = makeClient({ maxRetries: 2, fetch: stub.fetch });
    expect(await rejectionOf(client.request({ path: '/foo', method: 'get' }))).toBeInstanceOf(InternalServerError);
    expect(stub.count).toBe(1);
  });

  test('a connection error is retried, then surfaces as APIConnectionError with the fetch error as cause', async () => {
    let count = 0;
    const client = makeClient({
      maxRetries: 2,
      fetch: async () => {
        count++;
        throw new TypeError('fetch failed');
      },
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error.cause).toHaveProperty('message', 'fetch failed');
    expect(count).toBe(3);
  });

  test('a request whose body is a stream is never retried (R10)', async () => {
    let count = 0;
    const client = makeClient({
      maxRetries: 3,
      fetch: async (_url, init) => {
        count++;
        if (init?.body instanceof ReadableStream) await new Response(init.body).text();
        return apiError(500);
      },
    });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('a\nb\n'));
        controller.close();
      },
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'post', body }));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(count).toBe(1);
  });

  test('a plain Anthropic client retries the same scripted failures the same number of times', async () => {
    // Sanity anchor: the counts above are the SDK's own.
    const stub = scripted(() => apiError(500, 'api_error', { 'retry-after-ms': '1' }));
    const sdk = new Anthropic({ apiKey: 'sk-test', maxRetries: 2, fetch: stub.fetch });
    await rejectionOf(sdk.request({ path: '/foo', method: 'get' }));
    const ours = scripted(() => apiError(500, 'api_error', { 'retry-after-ms': '1' }));
    await rejectionOf(makeClient({ maxRetries: 2, fetch: ours.fetch }).request({ path: '/foo', method: 'get' }));
    expect(ours.count).toBe(stub.count);
  });
});
