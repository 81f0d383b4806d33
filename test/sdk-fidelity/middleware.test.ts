/**
 * User middleware keeps the SDK's documented contract under ResilientClaude: it runs per HTTP attempt,
 * outside our per-request layers and inside our per-call retry loop, with the SDK's error policy
 * (catalogue §3.2; F1, F2, R11, R13, R15, R18).
 */
import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  RetryableError,
  type Middleware,
} from '@anthropic-ai/sdk';
import { Stream as SSEStream } from '@anthropic-ai/sdk/core/streaming';
import { describe, expect, test, vi } from 'vitest';
import { ResilientClaude } from '../../src';
import {
  isolateEnv,
  json,
  makeClient,
  PARAMS,
  recordingLogger,
  rejectionOf,
  sleep,
  sse,
  STREAM_EVENT_TYPES,
  untilAborted,
  within,
} from './helpers';

isolateEnv();

const get = { path: '/foo', method: 'get' as const };

describe('basic middleware behaviour', () => {
  test('observes the request (url, method, Headers, ctx.options) and passes the response through', async () => {
    let seen: { url: string; method: string | undefined; headers: Headers; options: unknown } | undefined;
    const client = makeClient({
      fetch: async () => json(),
      middleware: [
        (request, next, ctx) => {
          seen = { url: request.url, method: request.method, headers: request.headers, options: ctx.options };
          return next(request);
        },
      ],
    });
    expect(await client.request({ path: '/foo', method: 'post', body: { hello: 'world' } })).toEqual({ a: 1 });
    expect(seen!.url).toBe('https://api.anthropic.com/foo');
    expect(seen!.method).toBe('POST');
    expect(seen!.headers).toBeInstanceOf(Headers);
    expect(seen!.options).toMatchObject({ path: '/foo', method: 'post', body: { hello: 'world' } });
  });

  test('runs in array order, first outermost, and our layers add no entries', async () => {
    const order: string[] = [];
    const named =
      (name: string): Middleware =>
      async (request, next) => {
        order.push(`${name}:in`);
        const response = await next(request);
        order.push(`${name}:out`);
        return response;
      };
    const client = makeClient({ fetch: async () => json(), middleware: [named('a'), named('b'), named('c')] });
    await client.request(get);
    expect(order).toEqual(['a:in', 'b:in', 'c:in', 'c:out', 'b:out', 'a:out']);
  });

  test('can mutate request headers', async () => {
    let sent: RequestInit | undefined;
    const client = makeClient({
      fetch: async (_url, init) => {
        sent = init;
        return json();
      },
      middleware: [
        (request, next) => {
          request.headers.set('x-my-middleware-header', 'hello');
          return next(request);
        },
      ],
    });
    await client.request(get);
    expect(new Headers(sent?.headers).get('x-my-middleware-header')).toBe('hello');
  });

  test('can rewrite the request URL', async () => {
    let sentUrl: string | undefined;
    const client = makeClient({
      fetch: async (url) => {
        sentUrl = String(url);
        return json();
      },
      middleware: [(request, next) => next({ ...request, url: request.url.replace('https://api.anthropic.com', 'http://localhost:1234') })],
    });
    await client.request(get);
    expect(sentUrl).toBe('http://localhost:1234/foo');
  });

  test('can short-circuit without calling next (no fetch at all)', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      fetch: async () => {
        fetchCalls++;
        return json();
      },
      middleware: [async () => json({ cached: true })],
    });
    expect(await client.request(get)).toEqual({ cached: true });
    expect(fetchCalls).toBe(0);
  });

  test('can replace the response', async () => {
    const client = makeClient({
      fetch: async () => json({ a: 1 }),
      middleware: [async (request, next) => json({ wrapped: await (await next(request)).json() })],
    });
    expect(await client.request(get)).toEqual({ wrapped: { a: 1 } });
  });

  test('consuming the body without replacing the response: the SDK error, not retried', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return json();
      },
      middleware: [
        async (request, next) => {
          const response = await next(request);
          await response.json();
          return response;
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error.message).toMatch(/middleware consumed the response body/);
    expect(error.message).toMatch(/response\.clone\(\)/);
    expect(fetchCalls).toBe(1);
  });

  test('locking the body without reading it: the same error, not retried', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return json();
      },
      middleware: [
        async (request, next) => {
          const response = await next(request);
          response.body!.getReader();
          return response;
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error.message).toMatch(/middleware consumed the response body/);
    expect(fetchCalls).toBe(1);
  });

  test('reading a clone of the response is fine', async () => {
    let cloned: unknown;
    const client = makeClient({
      fetch: async () => json(),
      middleware: [
        async (request, next) => {
          const response = await next(request);
          cloned = await response.clone().json();
          return response;
        },
      ],
    });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(cloned).toEqual({ a: 1 });
  });

  test('per-request middleware runs inside client middleware, and only for its own request', async () => {
    const order: string[] = [];
    const named =
      (name: string): Middleware =>
      (request, next) => {
        order.push(name);
        return next(request);
      };
    const client = makeClient({ fetch: async () => json(), middleware: [named('client')] });
    await client.request({ ...get, middleware: [named('request')] });
    expect(order).toEqual(['client', 'request']);
    order.length = 0;
    await client.request(get);
    expect(order).toEqual(['client']);
  });

  test('with no middleware configured, client.middleware is [] and calls work', async () => {
    const client = makeClient({ fetch: async () => json() });
    expect(client.middleware).toEqual([]);
    expect(await client.request(get)).toEqual({ a: 1 });
  });
});

describe('middleware and retries (F1: our retry loop is outside user middleware)', () => {
  test('user middleware sees every attempt, with retry counts 0, 1, 2', async () => {
    let fetchCalls = 0;
    const counts: Array<string | null> = [];
    const client = makeClient({
      maxRetries: 2,
      fetch: async () => {
        fetchCalls++;
        return fetchCalls <= 2 ? new Response(undefined, { status: 500, headers: { 'retry-after-ms': '1' } }) : json();
      },
      middleware: [
        (request, next) => {
          counts.push(request.headers.get('x-stainless-retry-count'));
          return next(request);
        },
      ],
    });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(fetchCalls).toBe(3);
    expect(counts).toEqual(['0', '1', '2']);
  });

  test('a plain Error thrown by middleware propagates as the same instance, without retries', async () => {
    class MyError extends Error {}
    const thrown = new MyError('middleware exploded');
    let attempts = 0;
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return json();
      },
      middleware: [
        async () => {
          attempts++;
          throw thrown;
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBe(thrown);
    expect(error.message).toBe('middleware exploded');
    expect(attempts).toBe(1);
    expect(fetchCalls).toBe(0);
  });

  test('a non-Error rejection from middleware is normalised to an Error and not retried', async () => {
    let attempts = 0;
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return json();
      },
      middleware: [
        async () => {
          attempts++;
          return Promise.reject('middleware oops');
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('middleware oops');
    expect(attempts).toBe(1);
    expect(fetchCalls).toBe(0);
  });

  test('an APIConnectionError thrown by middleware is retried (2 attempts with maxRetries 1)', async () => {
    let attempts = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => json(),
      middleware: [
        async () => {
          attempts++;
          throw new APIConnectionError({ cause: new Error('flaky network') });
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(attempts).toBe(2);
  });

  test('a RetryableError thrown by middleware is retried, then propagates as the same instance', async () => {
    const thrown = new RetryableError('flaky cache backend');
    let attempts = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => json(),
      middleware: [
        async () => {
          attempts++;
          throw thrown;
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBe(thrown);
    expect(attempts).toBe(2);
  });

  test('an error with a RetryableError deep in its cause chain is retried', async () => {
    class MyError extends Error {}
    let attempts = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => json(),
      middleware: [
        async () => {
          attempts++;
          const inner = new Error('inner', { cause: new RetryableError('flaky') });
          throw new MyError('outer', { cause: inner });
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(MyError);
    expect(attempts).toBe(2);
  });

  test("a middleware error that reads as a timeout ('timed out') is retried, then surfaces as APIConnectionTimeoutError", async () => {
    let attempts = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => json(),
      middleware: [
        async () => {
          attempts++;
          throw new Error('upstream timed out');
        },
      ],
    });
    expect(await rejectionOf(client.request(get))).toBeInstanceOf(APIConnectionTimeoutError);
    expect(attempts).toBe(2);
  });

  test('a fetch error is retried, then surfaces as APIConnectionError with the fetch error as cause', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        throw new TypeError('fetch failed');
      },
      middleware: [(request, next) => next(request)],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error.cause).toHaveProperty('message', 'fetch failed');
    expect(fetchCalls).toBe(2);
  });

  test('a non-Error rejection from fetch is still a connection failure', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return Promise.reject('socket hangup');
      },
      middleware: [(request, next) => next(request)],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error.cause).toHaveProperty('message', 'socket hangup');
    expect(fetchCalls).toBe(2);
  });

  test('a fetch error caught and re-thrown untouched by middleware is still retried', async () => {
    let fetchCalls = 0;
    const observed: unknown[] = [];
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        throw new TypeError('fetch failed');
      },
      middleware: [
        async (request, next) => {
          try {
            return await next(request);
          } catch (error) {
            observed.push(error);
            throw error;
          }
        },
      ],
    });
    expect(await rejectionOf(client.request(get))).toBeInstanceOf(APIConnectionError);
    expect(fetchCalls).toBe(2);
    expect(observed).toHaveLength(2);
  });

  test('a fetch error wrapped by middleware (with cause) is retried, then propagates as the wrapper', async () => {
    class WrappedError extends Error {}
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        throw new TypeError('fetch failed');
      },
      middleware: [
        async (request, next) => {
          try {
            return await next(request);
          } catch (error) {
            throw new WrappedError('transport failed', { cause: error });
          }
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(WrappedError);
    expect(error.cause).toHaveProperty('message', 'fetch failed');
    expect(fetchCalls).toBe(2);
  });

  test('a fetch error replaced by middleware (no cause) is not retried', async () => {
    class WrappedError extends Error {}
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        throw new TypeError('fetch failed');
      },
      middleware: [
        async (request, next) => {
          try {
            return await next(request);
          } catch {
            throw new WrappedError('replaced');
          }
        },
      ],
    });
    expect(await rejectionOf(client.request(get))).toBeInstanceOf(WrappedError);
    expect(fetchCalls).toBe(1);
  });

  test('the request timeout covers the fetch only, not slow middleware', async () => {
    const slowMiddleware: Middleware = async (request, next) => {
      await sleep(30);
      return next(request);
    };
    const fast = makeClient({
      timeout: 5,
      maxRetries: 0,
      middleware: [slowMiddleware],
      fetch: async (_url, init) => {
        if (init?.signal?.aborted) throw new DOMException('aborted before fetch', 'AbortError');
        return json();
      },
    });
    expect(await fast.request(get)).toEqual({ a: 1 });

    const slow = makeClient({
      timeout: 5,
      maxRetries: 0,
      middleware: [slowMiddleware],
      fetch: async (_url, init) => untilAborted(init?.signal, Object.assign(new Error('aborted'), { name: 'AbortError' })),
    });
    expect(await rejectionOf(slow.request(get))).toBeInstanceOf(APIConnectionTimeoutError);
  });

  test('middleware can implement its own retries by calling next() again', async () => {
    let fetchCalls = 0;
    const client = makeClient({
      maxRetries: 0,
      fetch: async () => {
        fetchCalls++;
        return fetchCalls === 1 ? new Response(undefined, { status: 503 }) : json();
      },
      middleware: [
        async (request, next) => {
          const first = await next(request);
          if (first.status !== 503) return first;
          await first.body?.cancel();
          return next(request);
        },
      ],
    });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(fetchCalls).toBe(2);
  });
});

describe('withOptions and middleware', () => {
  test('clones inherit middleware; passing middleware replaces it', async () => {
    const order: string[] = [];
    const named =
      (name: string): Middleware =>
      (request, next) => {
        order.push(name);
        return next(request);
      };
    const client = makeClient({ fetch: async () => json(), middleware: [named('parent')] });

    await client.withOptions({}).request(get);
    expect(order).toEqual(['parent']);

    order.length = 0;
    await client.withOptions({ middleware: [named('replacement')] }).request(get);
    expect(order).toEqual(['replacement']);

    order.length = 0;
    await client.withOptions({ middleware: [...client.middleware, named('extra')] }).request(get);
    expect(order).toEqual(['parent', 'extra']);
  });
});

describe('streaming through middleware', () => {
  test('a streamed message passes through middleware untouched', async () => {
    let status: number | undefined;
    const client = makeClient({
      fetch: async () => sse(),
      middleware: [
        async (request, next) => {
          const response = await next(request);
          status = response.status;
          return response;
        },
      ],
    });
    const stream = client.messages.stream(PARAMS);
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const message = await stream.finalMessage();
    expect(status).toBe(200);
    expect(types).toEqual(STREAM_EVENT_TYPES);
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hello there!' }]);
  });
});

describe('ctx.logger', () => {
  test('forwards to the client logger', async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      fetch: async () => json(),
      middleware: [
        (request, next, ctx) => {
          ctx.logger.warn('from middleware', request.method);
          return next(request);
        },
      ],
    });
    await client.request(get);
    expect(lines).toContainEqual(['warn', 'from middleware', 'GET']);
  });

  test('respects the client log level and picks up later changes; nothing else is logged at warn', async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      logLevel: 'warn',
      fetch: async () => json(),
      middleware: [
        (request, next, ctx) => {
          ctx.logger.debug('debug from middleware');
          return next(request);
        },
      ],
    });
    await client.request(get);
    expect(lines).toEqual([]);

    client.logLevel = 'debug';
    await client.request(get);
    expect(lines).toContainEqual(['debug', 'debug from middleware']);
  });

  test('is a safe no-op when logging is off', async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      logLevel: 'off',
      fetch: async () => json(),
      middleware: [
        (request, next, ctx) => {
          ctx.logger.error('should not appear');
          return next(request);
        },
      ],
    });
    await client.request(get);
    expect(lines).toEqual([]);
  });
});

describe('ctx.parse', () => {
  test('parses a JSON body without consuming it', async () => {
    let parsed: unknown;
    const client = makeClient({
      fetch: async () => json({ hello: 'world' }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    expect(await client.request(get)).toEqual({ hello: 'world' });
    expect(parsed).toEqual({ hello: 'world' });
  });

  test('attaches a non-enumerable _request_id', async () => {
    let parsed: any;
    const client = makeClient({
      fetch: async () => json({ hello: 'world' }, { headers: { 'request-id': 'req_123' } }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    await client.request(get);
    expect(parsed._request_id).toBe('req_123');
    expect(Object.keys(parsed)).not.toContain('_request_id');
  });

  test('is cached per response: every middleware gets the same object', async () => {
    const seen = new Set<unknown>();
    let parses = 0;
    const parsing: Middleware = async (request, next, ctx) => {
      const response = await next(request);
      seen.add(await ctx.parse(response));
      seen.add(await ctx.parse(response));
      parses += 2;
      return response;
    };
    const client = makeClient({ fetch: async () => json(), middleware: [parsing, parsing] });
    await client.request(get);
    expect(parses).toBe(4);
    expect(seen.size).toBe(1);
  });

  test('each next() call parses independently', async () => {
    let call = 0;
    const bodies: unknown[] = [];
    const client = makeClient({
      fetch: async () => json({ call: ++call }),
      middleware: [
        async (request, next, ctx) => {
          bodies.push(await ctx.parse(await next(request)));
          const second = await next(request);
          bodies.push(await ctx.parse(second));
          return second;
        },
      ],
    });
    expect(await client.request(get)).toEqual({ call: 2 });
    expect(bodies).toEqual([{ call: 1 }, { call: 2 }]);
  });

  test('a non-JSON body parses to text', async () => {
    let parsed: unknown;
    const client = makeClient({
      fetch: async () => new Response('plain text', { headers: { 'content-type': 'text/plain' } }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    expect(await client.request(get)).toBe('plain text');
    expect(parsed).toBe('plain text');
  });

  test('error response bodies parse before the SDK throws', async () => {
    let parsed: unknown;
    const client = makeClient({
      maxRetries: 0,
      fetch: async () => json({ type: 'error', error: { type: 'invalid_request_error', message: 'bad request' } }, { status: 400 }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    const error = await rejectionOf(client.request(get));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/bad request/);
    expect(parsed).toMatchObject({ type: 'error' });
  });

  test('a 204 parses to null', async () => {
    let parsed: unknown = 'unset';
    const client = makeClient({
      fetch: async () => new Response(null, { status: 204 }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    await client.request(get);
    expect(parsed).toBeNull();
  });

  test('parsing an already consumed body is an AnthropicError', async () => {
    let parseError: unknown;
    const client = makeClient({
      fetch: async () => json(),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          await response.text();
          parseError = await ctx.parse(response).then(
            () => undefined,
            (e: unknown) => e,
          );
          return json();
        },
      ],
    });
    await client.request(get);
    expect(parseError).toBeInstanceOf(AnthropicError);
    expect((parseError as Error).message).toMatch(/cannot ctx\.parse\(\)/);
  });

  test('outer middleware can parse an inner short-circuit', async () => {
    let parsed: unknown;
    const client = makeClient({
      fetch: async () => json({ from: 'fetch' }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
        async () => json({ from: 'cache' }),
      ],
    });
    expect(await client.request(get)).toEqual({ from: 'cache' });
    expect(parsed).toEqual({ from: 'cache' });
  });

  test('a streaming response parses into a Stream without consuming the client events', async () => {
    let middlewareEvents: string[] = [];
    let done: Promise<void> | undefined;
    const client = makeClient({
      fetch: async () => sse(),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          const parsed = await ctx.parse<SSEStream<{ type: string }>>(response);
          expect(parsed).toBeInstanceOf(SSEStream);
          done = (async () => {
            const types: string[] = [];
            for await (const event of parsed) types.push(event.type);
            middlewareEvents = types;
          })();
          return response;
        },
      ],
    });
    const stream = client.messages.stream(PARAMS);
    const clientEvents: string[] = [];
    for await (const event of stream) clientEvents.push(event.type);
    await done;
    expect(clientEvents).toEqual(STREAM_EVENT_TYPES);
    expect(middlewareEvents).toEqual(STREAM_EVENT_TYPES);
    expect((await stream.finalMessage()).content).toMatchObject([{ type: 'text', text: 'Hello there!' }]);
  });

  test('stream parses are lazy: create({stream:true}) resolves before any chunk exists, events flow one by one', async () => {
    const encode = (type: string) => new TextEncoder().encode(`event: ${type}\ndata: {"type":"${type}"}\n\n`);
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const middlewareEvents: string[] = [];
    let middlewareDone: Promise<void> | undefined;
    const client = makeClient({
      fetch: async () =>
        new Response(new ReadableStream<Uint8Array>({ start: (controller) => void (push = controller) }), {
          headers: { 'content-type': 'text/event-stream' },
        }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          const parsed = await ctx.parse<SSEStream<{ type: string }>>(response);
          middlewareDone = (async () => {
            for await (const event of parsed) middlewareEvents.push(event.type);
          })();
          return response;
        },
      ],
    });

    // Resolving at all proves nobody buffers: no body chunk exists yet.
    const stream = await within(client.messages.create({ ...PARAMS, stream: true }), 3_000, 'create({ stream: true }) to resolve');
    const iterator = stream[Symbol.asyncIterator]();

    push.enqueue(encode('message_start'));
    expect((await within(iterator.next(), 3_000, 'message_start before the next chunk')).value).toEqual({ type: 'message_start' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(middlewareEvents).toEqual(['message_start']);

    push.enqueue(encode('message_stop'));
    push.close();
    expect((await within(iterator.next(), 3_000, 'message_stop')).value).toEqual({ type: 'message_stop' });
    await within(middlewareDone!, 3_000, 'the middleware copy to finish');
    expect(middlewareEvents).toEqual(['message_start', 'message_stop']);
  });

  test('an error response to a streaming request parses as JSON', async () => {
    let parsed: unknown;
    const client = makeClient({
      maxRetries: 0,
      fetch: async () => json({ type: 'error', error: { type: 'invalid_request_error', message: 'bad request' } }, { status: 400 }),
      middleware: [
        async (request, next, ctx) => {
          const response = await next(request);
          parsed = await ctx.parse(response);
          return response;
        },
      ],
    });
    const error = await rejectionOf(client.messages.create({ ...PARAMS, stream: true }));
    expect(error.status).toBe(400);
    expect(parsed).toMatchObject({ type: 'error' });
  });

  test('a binary response parses to the Response itself, unconsumed', async () => {
    let parsed: unknown;
    let seen: Response | undefined;
    const client = makeClient({
      fetch: async () => new Response('binary bytes', { headers: { 'content-type': 'application/octet-stream' } }),
      middleware: [
        async (request, next, ctx) => {
          seen = await next(request);
          parsed = await ctx.parse(seen);
          return seen;
        },
      ],
    });
    const response: Response = await client.request({ ...get, __binaryResponse: true });
    expect(parsed).toBe(seen);
    expect(await response.text()).toBe('binary bytes');
  });
});

describe('request preparation (prepareRequest in a subclass)', () => {
  class SigningClient extends ResilientClaude {
    prepared: Array<{ url: string; body: unknown }> = [];
    protected override async prepareRequest(request: RequestInit, args: { url: string; options: any }): Promise<void> {
      this.prepared.push({ url: args.url, body: request.body });
      (request.headers as Headers).set('x-test-signature', `sig:${args.url}:${String(request.body)}`);
      await super.prepareRequest(request, args);
    }
  }

  test('prepares exactly what middleware produced, once', async () => {
    const signatures: Array<string | null> = [];
    const client = new SigningClient({
      apiKey: 'sk-test',
      logger: false,
      fetch: async (_url, init) => {
        signatures.push(new Headers(init?.headers).get('x-test-signature'));
        return json();
      },
      middleware: [
        (request, next) => {
          expect(request.headers.get('x-test-signature')).toBeNull();
          return next({ ...request, url: 'https://api.anthropic.com/rewritten', body: JSON.stringify({ rewritten: true }) });
        },
      ],
    });
    await client.request({ path: '/foo', method: 'post', body: { hello: 'world' } });
    const body = JSON.stringify({ rewritten: true });
    expect(client.prepared).toEqual([{ url: 'https://api.anthropic.com/rewritten', body }]);
    expect(signatures).toEqual([`sig:https://api.anthropic.com/rewritten:${body}`]);
  });

  test('prepares per next() call', async () => {
    const signatures: Array<string | null> = [];
    const client = new SigningClient({
      apiKey: 'sk-test',
      logger: false,
      fetch: async (_url, init) => {
        signatures.push(new Headers(init?.headers).get('x-test-signature'));
        return json();
      },
      middleware: [
        async (request, next) => {
          await next(request);
          return next({ ...request, url: 'https://api.anthropic.com/fallback' });
        },
      ],
    });
    await client.request(get);
    expect(client.prepared.map((p) => p.url)).toEqual(['https://api.anthropic.com/foo', 'https://api.anthropic.com/fallback']);
    expect(signatures).toEqual(['sig:https://api.anthropic.com/foo:undefined', 'sig:https://api.anthropic.com/fallback:undefined']);
  });

  test("'sending request' is debug-logged once per inner fetch, and by nobody else", async () => {
    const debug = vi.fn();
    const client = new SigningClient({
      apiKey: 'sk-test',
      logLevel: 'debug',
      logger: { debug, info: vi.fn(), warn: vi.fn(), error: vi.fn() },
      fetch: async () => json(),
      middleware: [
        async (request, next) => {
          await next(request);
          return next({ ...request, url: 'https://api.anthropic.com/fallback' });
        },
      ],
    });
    await client.request(get);
    const sends = debug.mock.calls.filter(([message]) => String(message).includes('sending request'));
    expect(sends.map(([, details]) => [details.url, details.headers['x-test-signature']])).toEqual([
      ['https://api.anthropic.com/foo', 'sig:https://api.anthropic.com/foo:undefined'],
      ['https://api.anthropic.com/fallback', 'sig:https://api.anthropic.com/fallback:undefined'],
    ]);
  });
});

describe('a subclass overriding backendMiddleware() without super (F2)', () => {
  function backendClient(backend: Middleware[]) {
    return class BackendClient extends ResilientClaude {
      protected override backendMiddleware() {
        return backend;
      }
    };
  }

  test('composes innermost: client → request → backend', async () => {
    const order: string[] = [];
    const named =
      (name: string): Middleware =>
      (request, next) => {
        order.push(name);
        return next(request);
      };
    const Client = backendClient([named('backend')]);
    const client = new Client({ apiKey: 'sk-test', logger: false, fetch: async () => json(), middleware: [named('client')] });
    await client.request({ ...get, middleware: [named('request')] });
    expect(order).toEqual(['client', 'request', 'backend']);
  });

  test('re-runs on every next() and sees the user middleware mutations', async () => {
    const adapted: string[] = [];
    let fetchCalls = 0;
    const Client = backendClient([
      (request, next) => {
        adapted.push(request.headers.get('x-attempt') ?? 'none');
        return next(request);
      },
    ]);
    const client = new Client({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 0,
      fetch: async () => (++fetchCalls === 1 ? new Response(undefined, { status: 503 }) : json()),
      middleware: [
        async (request, next) => {
          request.headers.set('x-attempt', '1');
          const first = await next(request);
          if (first.status !== 503) return first;
          request.headers.set('x-attempt', '2');
          return next(request);
        },
      ],
    });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(adapted).toEqual(['1', '2']);
    expect(fetchCalls).toBe(2);
  });

  test('the response it returns is what the client sees', async () => {
    const Client = backendClient([async () => json({ normalized: true })]);
    const client = new Client({ apiKey: 'sk-test', logger: false, fetch: async () => json() });
    expect(await client.request(get)).toEqual({ normalized: true });
  });

  test('errors it throws propagate as-is, without retries', async () => {
    class SigningError extends Error {}
    const thrown = new SigningError('cannot sign');
    let attempts = 0;
    let fetchCalls = 0;
    const Client = backendClient([
      async () => {
        attempts++;
        throw thrown;
      },
    ]);
    const client = new Client({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 1,
      fetch: async () => {
        fetchCalls++;
        return json();
      },
    });
    expect(await rejectionOf(client.request(get))).toBe(thrown);
    expect(attempts).toBe(1);
    expect(fetchCalls).toBe(0);
  });

  test('a RetryableError it throws is still retried', async () => {
    let attempts = 0;
    const Client = backendClient([
      async (request, next) => {
        if (++attempts === 1) throw new RetryableError('transient');
        return next(request);
      },
    ]);
    const client = new Client({ apiKey: 'sk-test', logger: false, maxRetries: 1, retry: { baseDelayMs: 1 }, fetch: async () => json() });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(attempts).toBe(2);
  });

  test('fetch connection errors keep the retry policy', async () => {
    let fetchCalls = 0;
    const Client = backendClient([(request, next) => next(request)]);
    const client = new Client({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 1,
      retry: { baseDelayMs: 1 },
      fetch: async () => {
        fetchCalls++;
        throw new TypeError('fetch failed');
      },
    });
    const error = await rejectionOf(client.request(get));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error.cause).toHaveProperty('message', 'fetch failed');
    expect(fetchCalls).toBe(2);
  });

  test('500 responses are still retried with the caller budget', async () => {
    let fetchCalls = 0;
    const Client = backendClient([]);
    const client = new Client({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 2,
      retry: { baseDelayMs: 1 },
      fetch: async () => (++fetchCalls < 3 ? new Response(undefined, { status: 500 }) : json()),
    });
    expect(await client.request(get)).toEqual({ a: 1 });
    expect(fetchCalls).toBe(3);
  });

  test('the request timeout does not cover backend middleware work', async () => {
    const Client = backendClient([
      async (request, next) => {
        await sleep(30);
        return next(request);
      },
    ]);
    const client = new Client({
      apiKey: 'sk-test',
      logger: false,
      timeout: 5,
      fetch: async (_url, init) => {
        if (init?.signal?.aborted) throw new DOMException('aborted before fetch', 'AbortError');
        return json();
      },
    });
    expect(await client.request(get)).toEqual({ a: 1 });
  });

  test('the subclass is still an Anthropic', () => {
    const Client = backendClient([]);
    expect(new Client({ apiKey: 'sk-test', logger: false })).toBeInstanceOf(Anthropic);
  });
});
