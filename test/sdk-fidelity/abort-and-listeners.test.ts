/**
 * Abort listeners on a caller's long-lived signal, and signal identity (catalogue §3.4, §3.5; F4, R8, R9):
 * while `fetch` runs the caller's signal carries exactly one listener (the SDK's), and none once the call
 * has settled; the first attempt hands `fetch` the SDK's own controller signal.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import Anthropic, { APIUserAbortError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { apiError, isolateEnv, json, listenerCount, makeClient, MESSAGE, PARAMS, rejectionOf, sse, untilAborted, type StubFetch } from './helpers';

isolateEnv();

const message = () => json(MESSAGE);

describe('listeners on the caller signal', () => {
  let session: AbortController;
  let duringFetch: number[];

  beforeEach(() => {
    session = new AbortController();
    duringFetch = [];
  });

  /** Wraps a fetch so it records the caller's listener count at every call. */
  const counting =
    (respond: (init?: RequestInit) => Promise<Response>) =>
    (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      duringFetch.push(listenerCount(session.signal));
      return respond(init);
    };

  test('settled requests: 1 listener during each fetch, 0 after', async () => {
    const client = makeClient({ fetch: counting(async () => message()) });
    for (let i = 0; i < 3; i++) await client.messages.create(PARAMS, { signal: session.signal });
    expect(duringFetch).toEqual([1, 1, 1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('failed requests (400) leave no listeners', async () => {
    const client = makeClient({ maxRetries: 0, fetch: counting(async () => apiError(400, 'invalid_request_error')) });
    await rejectionOf(client.messages.create(PARAMS, { signal: session.signal }));
    expect(duringFetch).toEqual([1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('connection errors leave no listeners', async () => {
    const client = makeClient({
      maxRetries: 0,
      fetch: counting(async () => {
        throw new Error('ECONNREFUSED');
      }),
    });
    await rejectionOf(client.messages.create(PARAMS, { signal: session.signal }));
    expect(duringFetch).toEqual([1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('retried requests release each attempt: exactly 1 listener during every fetch', async () => {
    let calls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: counting(async () => (++calls === 1 ? apiError(429, 'rate_limit_error', { 'retry-after': '0' }) : message())),
    });
    await client.messages.create(PARAMS, { signal: session.signal });
    expect(calls).toBe(2);
    expect(duringFetch).toEqual([1, 1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('several failed attempts (500, 500, 200) still leave exactly 1 listener per fetch and 0 after', async () => {
    let calls = 0;
    const client = makeClient({
      maxRetries: 2,
      fetch: counting(async () => (++calls < 3 ? apiError(500) : message())),
    });
    await client.messages.create(PARAMS, { signal: session.signal });
    expect(duringFetch).toEqual([1, 1, 1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('retried connection errors leave no listeners', async () => {
    const client = makeClient({
      maxRetries: 2,
      fetch: counting(async () => {
        throw new TypeError('fetch failed');
      }),
    });
    await rejectionOf(client.messages.create(PARAMS, { signal: session.signal }));
    expect(duringFetch).toEqual([1, 1, 1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('consumed streams leave no listeners', async () => {
    const client = makeClient({ fetch: counting(async () => sse()) });
    for (let i = 0; i < 2; i++) {
      const stream = await client.messages.create({ ...PARAMS, stream: true }, { signal: session.signal });
      for await (const _event of stream) {
        // drain
      }
    }
    expect(duringFetch).toEqual([1, 1]);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('a stream broken early releases its listener', async () => {
    const client = makeClient({ fetch: counting(async () => sse()) });
    const stream = await client.messages.create({ ...PARAMS, stream: true }, { signal: session.signal });
    for await (const _event of stream) break;
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('abort cancels an in-flight request: APIUserAbortError, no listener left, no retry', async () => {
    let calls = 0;
    const client = makeClient({
      maxRetries: 2,
      fetch: counting(async (init) => {
        calls++;
        return untilAborted(init?.signal);
      }),
    });
    const pending = client.messages.create(PARAMS, { signal: session.signal });
    await new Promise((resolve) => setTimeout(resolve, 0));
    session.abort();
    expect(await rejectionOf(pending)).toBeInstanceOf(APIUserAbortError);
    expect(calls).toBe(1);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('an abort during the retry backoff leaves no listener', async () => {
    const client = makeClient({
      retry: { baseDelayMs: 60_000, jitter: false },
      fetch: counting(async () => {
        setTimeout(() => session.abort(), 20);
        return apiError(503);
      }),
    });
    expect(await rejectionOf(client.messages.create(PARAMS, { signal: session.signal }))).toBeInstanceOf(APIUserAbortError);
    expect(listenerCount(session.signal)).toBe(0);
  });

  test('an abandoned, partially iterated stream holds exactly 1 listener, released by the GC backstop', async () => {
    const client = makeClient({ fetch: async () => sse() });
    await (async () => {
      const stream = await client.messages.create({ ...PARAMS, stream: true }, { signal: session.signal });
      await stream[Symbol.asyncIterator]().next();
    })();
    expect(listenerCount(session.signal)).toBe(1);

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
    const deadline = Date.now() + 10_000;
    while (listenerCount(session.signal) > 0 && Date.now() < deadline) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(listenerCount(session.signal)).toBe(0);
  });
});

describe.each([
  ['messages.batches', (client: Anthropic) => client.messages.batches],
  ['beta.messages.batches', (client: Anthropic) => client.beta.messages.batches],
] as const)('%s.results(): signal identity and listener hygiene', (_name, resource) => {
  const first = { custom_id: 'first', result: { type: 'canceled' } };
  const second = { custom_id: 'second', result: { type: 'expired' } };
  const callers: AbortController[] = [];
  // Response bodies stay referenced until the test ends: cleanup must not depend on GC timing.
  let keep: Response[] = [];

  afterEach(() => {
    for (const caller of callers.splice(0)) caller.abort();
    keep = [];
  });

  const ours = (fetch: StubFetch) =>
    makeClient({ authToken: null, webhookKey: null, baseURL: 'https://example.invalid', maxRetries: 0, fetch });
  const plain = (fetch: StubFetch) =>
    new Anthropic({ apiKey: 'sk-test', authToken: null, webhookKey: null, baseURL: 'https://example.invalid', maxRetries: 0, fetch });

  /** Opens the results of a fixture batch; `tail` null keeps the body open (errored by an abort). */
  async function open(tail: string | null, build: (fetch: StubFetch) => Anthropic = ours) {
    const caller = new AbortController();
    callers.push(caller);
    const cancel = vi.fn();
    let resultsSignal: AbortSignal | null | undefined;
    const during: number[] = [];
    const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
      during.push(listenerCount(caller.signal));
      expect(init?.method).toBe('GET');
      let response: Response;
      if (new URL(String(input)).pathname.endsWith('/messages/batches/batch_fixture')) {
        response = Response.json({ id: 'batch_fixture', results_url: 'https://example.invalid/results.jsonl' });
      } else {
        expect(String(input)).toBe('https://example.invalid/results.jsonl');
        resultsSignal = init?.signal;
        response = new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(JSON.stringify(first) + '\n'));
              if (tail === null) {
                resultsSignal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')), {
                  once: true,
                });
              } else {
                if (tail) controller.enqueue(new TextEncoder().encode(tail));
                controller.close();
              }
            },
            cancel,
          }),
          { headers: { 'content-type': 'application/x-jsonl' } },
        );
      }
      keep.push(response);
      return response;
    });
    const before = listenerCount(caller.signal);
    const decoder = await resource(build(fetch)).results('batch_fixture', {}, { signal: caller.signal });
    return { decoder, cancel, caller, fetch, resultsSignal, before, during, after: listenerCount(caller.signal) };
  }

  test('exactly 1 listener during each fetch, 2 GETs, and the results fetch gets the SDK controller signal', async () => {
    const { decoder, fetch, resultsSignal, before, during, after } = await open(JSON.stringify(second));
    expect(before).toBe(0);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(during).toEqual([1, 1]);
    expect(decoder.controller.signal).toBe(resultsSignal);
    expect(after).toBe(1);
    const rows: unknown[] = [];
    for await (const row of decoder) rows.push(row);
    expect(rows).toEqual([first, second]);
    expect(decoder.controller.signal.aborted).toBe(false);
  });

  test('after EOF, the caller signal carries no more listeners than with a plain Anthropic client', async () => {
    const drain = async (build: (fetch: StubFetch) => Anthropic) => {
      const { decoder, caller } = await open(JSON.stringify(second), build);
      for await (const _row of decoder) {
        // drain
      }
      return listenerCount(caller.signal);
    };
    expect(await drain(ours)).toBeLessThanOrEqual(await drain(plain));
  });

  test('an early break cancels the body once, with no more listeners left than a plain Anthropic client', async () => {
    const breakEarly = async (build: (fetch: StubFetch) => Anthropic) => {
      const { decoder, caller, cancel } = await open(null, build);
      for await (const row of decoder) {
        expect(row).toEqual(first);
        break;
      }
      expect(cancel).toHaveBeenCalledTimes(1);
      expect(decoder.controller.signal.aborted).toBe(false);
      return listenerCount(caller.signal);
    };
    expect(await breakEarly(ours)).toBeLessThanOrEqual(await breakEarly(plain));
  });

  test('a caller abort reaches a pending body read and releases the listener', async () => {
    const { decoder, caller } = await open(null);
    const iterator = decoder[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: first });
    const pending = iterator.next();
    expect(listenerCount(caller.signal)).toBe(1);
    const rejected = expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    caller.abort();
    await rejected;
    expect(decoder.controller.signal.aborted).toBe(true);
    expect(listenerCount(caller.signal)).toBe(0);
  });
});
