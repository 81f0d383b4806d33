/**
 * Construction and client options behave exactly like the SDK's own client (catalogue §3.1 "instantiate
 * client", "baseUrl", "withOptions", "retries → maxRetries must be a non-negative integer"; R1, R2, R5).
 */
import Anthropic, { AnthropicError, APIError } from '@anthropic-ai/sdk';
import { copyClientForHelper } from '@anthropic-ai/sdk/lib/helper-client';
import { describe, expect, test } from 'vitest';
import { ResilientClaude } from '../../src';
import { isolateEnv, json, makeClient, MESSAGE, PARAMS, rejectionOf, sse, type StubFetch } from './helpers';

isolateEnv();

describe('constructor pass-through (R1)', () => {
  test('every SDK option lands on the client exactly as on a plain Anthropic client', () => {
    const fetch: StubFetch = async () => json();
    const options = {
      apiKey: 'sk-test',
      baseURL: 'http://localhost:5000/',
      timeout: 1234,
      maxRetries: 4,
      logLevel: 'debug' as const,
      fetch,
      defaultHeaders: { 'X-My-Default-Header': '2' },
      defaultQuery: { apiVersion: 'foo' },
    };
    const ours = new ResilientClaude({ ...options, logger: false });
    const sdk = new Anthropic(options);
    for (const key of ['apiKey', 'authToken', 'baseURL', 'timeout', 'maxRetries', 'logLevel', 'fetch'] as const) {
      expect(ours[key], key).toEqual(sdk[key]);
    }
    expect(ours.middleware).toEqual([]);
  });

  test('defaults are the SDK defaults: maxRetries 2, 10 minute timeout, logLevel warn, default host', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    expect(client.maxRetries).toBe(2);
    expect(client.timeout).toBe(600_000);
    expect(client.logLevel).toBe('warn');
    expect(client.baseURL).toBe('https://api.anthropic.com');
  });

  test('does not default baseURL, maxRetries, timeout or logLevel into the options it hands the SDK', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    const sdk = new Anthropic({ apiKey: 'sk-test' });
    const opts = (client as any)._options;
    const sdkOpts = (sdk as any)._options;
    expect(opts.baseURL).toBe(sdkOpts.baseURL);
    expect(opts.maxRetries).toBe(sdkOpts.maxRetries);
    expect(opts.timeout).toBe(sdkOpts.timeout);
    expect(opts.logLevel).toBe(sdkOpts.logLevel);
    expect((client as any)._baseURLIsExplicit).toBe(false);
  });

  test('unknown option keys are forwarded to the SDK unchanged', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false, someFutureOption: 42 } as any);
    expect((client as any)._options.someFutureOption).toBe(42);
  });

  test('defaultHeaders are handed to the SDK as given (not normalised)', () => {
    const defaultHeaders = { 'X-My-Default-Header': '2' };
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false, defaultHeaders });
    expect((client as any)._options.defaultHeaders).toEqual(defaultHeaders);
  });

  test('an API key from ANTHROPIC_API_KEY is used, and an explicit key wins over it', () => {
    process.env['ANTHROPIC_API_KEY'] = 'sk-from-env';
    expect(new ResilientClaude({ logger: false }).apiKey).toBe('sk-from-env');
    expect(new ResilientClaude({ apiKey: 'sk-explicit', logger: false }).apiKey).toBe('sk-explicit');
  });

  test('a synchronous SDK constructor error propagates unchanged', () => {
    expect(
      () => new ResilientClaude({ apiKey: null, logger: false, config: { authentication: { type: 'user_oauth' } } as any }),
    ).toThrow('user_oauth config requires authentication.credentials_path');
  });
});

describe('defaultHeaders reach buildRequest', () => {
  const client = makeClient({ baseURL: 'http://localhost:5000/', defaultHeaders: { 'X-My-Default-Header': '2' } });

  test('they are used in the request', async () => {
    const { req } = await client.buildRequest({ path: '/foo', method: 'post' });
    expect((req.headers as Headers).get('x-my-default-header')).toBe('2');
  });

  test('a per-request undefined keeps the default', async () => {
    const { req } = await client.buildRequest({ path: '/foo', method: 'post', headers: { 'X-My-Default-Header': undefined } });
    expect((req.headers as Headers).get('x-my-default-header')).toBe('2');
  });

  test('a per-request null removes it', async () => {
    const { req } = await client.buildRequest({ path: '/foo', method: 'post', headers: { 'X-My-Default-Header': null } });
    expect((req.headers as Headers).has('x-my-default-header')).toBe(false);
  });

  test('mixed-case duplicates: the last value wins and an undefined leaves the earlier one, a null removes', async () => {
    const { req } = await client.buildRequest({
      path: '/foo',
      method: 'post',
      headers: { 'X-Foo': 'baz', 'x-foo': 'bar', 'x-Foo': undefined, 'x-baz': 'bam', 'X-Baz': null },
    });
    expect((req.headers as Headers).get('x-foo')).toBe('bar');
    expect((req.headers as Headers).get('x-baz')).toBeNull();
  });

  test('JSON bodies are encoded as the SDK does', async () => {
    const { req } = await client.buildRequest({ path: '/foo', method: 'post', body: { hello: 'world' } });
    expect((req.headers as Headers).get('content-type')).toBe('application/json');
    expect(req.body).toBe(JSON.stringify({ hello: 'world' }));
  });
});

describe('defaultQuery reaches buildURL', () => {
  const client = makeClient({ baseURL: 'http://localhost:5000/', defaultQuery: { apiVersion: 'foo' } });

  test('is added to every URL', () => {
    expect(client.buildURL('/foo', null)).toBe('http://localhost:5000/foo?apiVersion=foo');
  });

  test('merges with a request query', () => {
    expect(client.buildURL('/foo', { hello: 'world' })).toBe('http://localhost:5000/foo?apiVersion=foo&hello=world');
  });

  test('a default query value can be removed with undefined', () => {
    const noVersion = makeClient({ baseURL: 'http://localhost:5000/', defaultQuery: { apiVersion: undefined } });
    expect(noVersion.buildURL('/foo', { hello: undefined })).toBe('http://localhost:5000/foo');
  });
});

describe('baseURL', () => {
  test('with and without a trailing slash', () => {
    expect(makeClient({ baseURL: 'http://localhost:5000/custom/path/' }).buildURL('/foo', null)).toBe(
      'http://localhost:5000/custom/path/foo',
    );
    expect(makeClient({ baseURL: 'http://localhost:5000/custom/path' }).buildURL('/foo', null)).toBe(
      'http://localhost:5000/custom/path/foo',
    );
  });

  test('an explicit option wins over ANTHROPIC_BASE_URL', () => {
    process.env['ANTHROPIC_BASE_URL'] = 'https://example.com/from_env';
    expect(makeClient({ baseURL: 'https://example.com/from_options' }).baseURL).toBe('https://example.com/from_options');
  });

  test('ANTHROPIC_BASE_URL is used when no option is given', () => {
    process.env['ANTHROPIC_BASE_URL'] = 'https://example.com/from_env';
    const client = makeClient();
    expect(client.baseURL).toBe('https://example.com/from_env');
    expect((client as any)._baseURLIsExplicit).toBe(true);
  });

  test.each(['', '  '])('an empty or blank ANTHROPIC_BASE_URL (%j) falls back to the default host', (value) => {
    process.env['ANTHROPIC_BASE_URL'] = value;
    expect(makeClient().baseURL).toBe('https://api.anthropic.com');
  });

  test("buildURL's defaultBaseURL applies only when neither the client nor the environment set one", () => {
    expect(makeClient().buildURL('/foo', null, 'http://localhost:5000/default/path/')).toBe(
      'http://localhost:5000/default/path/foo',
    );
    expect(makeClient({ baseURL: 'http://localhost:5000/custom' }).buildURL('/foo', null, 'http://localhost:5000/default/')).toBe(
      'http://localhost:5000/custom/foo',
    );
    process.env['ANTHROPIC_BASE_URL'] = 'https://example.com/from_env';
    expect(makeClient().buildURL('/foo', null, 'http://localhost:5000/default/')).toBe('https://example.com/from_env/foo');
  });
});

describe('custom fetch and method normalisation', () => {
  test('the client fetch is called with the full URL string and its result is returned', async () => {
    const client = makeClient({
      baseURL: 'http://localhost:5000/',
      fetch: async (url) => json({ url, custom: true }),
    });
    expect(await client.get('/foo')).toEqual({ url: 'http://localhost:5000/foo', custom: true });
  });

  test('an explicitly passed global fetch is accepted', () => {
    expect(() => makeClient({ fetch: globalThis.fetch })).not.toThrow();
  });

  test('patch is sent as PATCH', async () => {
    let method: string | undefined;
    const client = makeClient({
      fetch: async (_url, init) => {
        method = init?.method;
        return json();
      },
    });
    await client.patch('/foo');
    expect(method).toBe('PATCH');
  });
});

describe('maxRetries (R2, R5)', () => {
  test('the option is kept on the client as given, and defaults to 2', () => {
    expect(makeClient({ maxRetries: 4 }).maxRetries).toBe(4);
    expect(makeClient({ maxRetries: 0 }).maxRetries).toBe(0);
    expect(makeClient().maxRetries).toBe(2);
  });

  test.each([-1, 1.5])('the constructor rejects maxRetries %j with a ConfigError naming it (an AnthropicError, like the SDK\'s)', (value) => {
    let error: unknown;
    try {
      new ResilientClaude({ apiKey: 'sk-test', logger: false, maxRetries: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error).toMatchObject({ name: 'ConfigError', option: 'maxRetries' });
  });

  test.each([-1, 1.5])('a per-request maxRetries %j rejects the returned promise with the SDK error', async (value) => {
    let fetchCalls = 0;
    const client = makeClient({
      fetch: async () => {
        fetchCalls++;
        return json();
      },
    });
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = client.request({ path: '/foo', method: 'get', maxRetries: value });
    }).not.toThrow();
    const error = await rejectionOf(promise!);
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error.message).toMatch(/maxRetries must be/);
    expect(fetchCalls).toBe(0);
  });
});

describe('withOptions', () => {
  test('creates a new client of the same class with overridden options, leaving the parent alone', () => {
    const client = makeClient({ baseURL: 'http://localhost:5000/', maxRetries: 3 });
    const clone = client.withOptions({ maxRetries: 5, baseURL: 'http://localhost:5001/' });
    expect(clone.maxRetries).toBe(5);
    expect(clone.baseURL).toBe('http://localhost:5001/');
    expect(client.maxRetries).toBe(3);
    expect(client.baseURL).toBe('http://localhost:5000/');
    expect(clone).not.toBe(client);
    expect(clone.constructor).toBe(client.constructor);
    expect(clone).toBeInstanceOf(ResilientClaude);
    expect(clone).toBeInstanceOf(Anthropic);
  });

  test('inherits defaultQuery, defaultHeaders and timeout from the parent', async () => {
    const client = makeClient({
      baseURL: 'http://localhost:5000/',
      defaultHeaders: { 'X-Test-Header': 'test-value' },
      defaultQuery: { 'test-param': 'test-value' },
      timeout: 1000,
    });
    const clone = client.withOptions({ baseURL: 'http://localhost:5001/' });
    expect(clone.buildURL('/foo', null)).toBe('http://localhost:5001/foo?test-param=test-value');
    const { req } = await clone.buildRequest({ path: '/foo', method: 'get' });
    expect((req.headers as Headers).get('x-test-header')).toBe('test-value');
    expect(clone.timeout).toBe(1000);
  });

  test('follows runtime changes of the parent properties (R2: plain writable fields)', () => {
    const client = makeClient({ baseURL: 'http://localhost:5000/', maxRetries: 3, timeout: 1000 });
    client.baseURL = 'http://localhost:6000/';
    client.timeout = 2000;
    const clone = client.withOptions({ maxRetries: 10 });
    expect(clone.baseURL).toBe('http://localhost:6000/');
    expect(clone.timeout).toBe(2000);
    expect(clone.maxRetries).toBe(10);
    expect(client.maxRetries).toBe(3);
    expect(clone.buildURL('/bar', null)).toBe('http://localhost:6000/bar');
  });

  test('a clone keeps the parent fetch, and its requests go through it', async () => {
    const seen: string[] = [];
    const client = makeClient({
      baseURL: 'http://localhost:5000/',
      fetch: async (url) => {
        seen.push(String(url));
        return json();
      },
    });
    await client.withOptions({ timeout: 5000 }).get('/clone');
    expect(seen).toEqual(['http://localhost:5000/clone']);
  });

  test('runtime logLevel changes are inherited too', () => {
    const client = makeClient();
    client.logLevel = 'debug';
    expect(client.withOptions({}).logLevel).toBe('debug');
  });
});

describe('error responses', () => {
  test('an HTTP error response becomes the SDK error with its type and status', async () => {
    const client = makeClient({
      maxRetries: 0,
      fetch: async () => json({ type: 'error', error: { type: 'invalid_request_error', message: 'bad' } }, { status: 400 }),
    });
    const error = await rejectionOf(
      client.messages.create({ model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(error).toBeInstanceOf(APIError);
    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
  });
});

describe('the wire request is the SDK request (R14)', () => {
  /** Captures the URL, method, headers and body a client sends for one messages.create. */
  async function capture(build: (fetch: StubFetch) => Anthropic) {
    let sent: { url: string; method?: string | undefined; headers: Record<string, string>; body: unknown } | undefined;
    const client = build(async (url, init) => {
      sent = {
        url: String(url),
        method: init?.method,
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        body: init?.body,
      };
      return json(MESSAGE);
    });
    await client.messages.create(PARAMS, { headers: { 'X-Custom': 'yes' } });
    return sent!;
  }

  test('same URL, method, headers and body as a plain Anthropic client', async () => {
    const options = { apiKey: 'sk-test', defaultHeaders: { 'X-Default': 'd' } };
    const ours = await capture((fetch) => new ResilientClaude({ ...options, logger: false, fetch }));
    const plain = await capture((fetch) => new Anthropic({ ...options, fetch }));
    expect(ours).toEqual(plain);
    expect(ours.headers['x-stainless-helper']).toBeUndefined();
  });

  test('the same holds for a streaming request', async () => {
    const sent: Array<Record<string, string>> = [];
    for (const client of [
      new ResilientClaude({ apiKey: 'sk-test', logger: false, fetch: async (_u, init) => (sent.push(Object.fromEntries(new Headers(init?.headers))), sse()) }),
      new Anthropic({ apiKey: 'sk-test', fetch: async (_u, init) => (sent.push(Object.fromEntries(new Headers(init?.headers))), sse()) }),
    ]) {
      const stream = await client.messages.create({ ...PARAMS, stream: true });
      for await (const _event of stream) {
        // drain
      }
    }
    expect(sent[0]).toEqual(sent[1]);
  });
});

describe('helper clients (copyClientForHelper → withOptions)', () => {
  test('a helper-scoped copy re-authenticates, tags its requests, and leaves the parent untouched', async () => {
    const helperHeaders: Array<string | null> = [];
    const parent = makeClient({
      defaultHeaders: { 'X-Custom-Default': 'kept' },
      fetch: async (_url, init) => {
        helperHeaders.push(new Headers(init?.headers).get('x-stainless-helper'));
        return json();
      },
    });
    const scoped = copyClientForHelper(parent, { authToken: 'helper-token', helper: 'BetaToolRunner' });
    expect(scoped).toBeInstanceOf(ResilientClaude);
    expect(scoped).toBeInstanceOf(Anthropic);
    expect(scoped.authToken).toBe('helper-token');
    expect(scoped.apiKey).toBeNull();
    const defaults = (scoped as any)._options.defaultHeaders.values as Headers;
    expect(defaults.get('x-stainless-helper')).toBe('BetaToolRunner');
    expect(defaults.get('x-custom-default')).toBe('kept');
    expect(parent.apiKey).toBe('sk-test');
    expect(parent.authToken).toBeNull();

    await parent.request({ path: '/foo', method: 'get' });
    await scoped.request({ path: '/foo', method: 'get' });
    expect(helperHeaders).toEqual([null, 'BetaToolRunner']);
  });
});

describe('no state that leaks across clients or trips on a handful of failures (R16)', () => {
  test("one client's failures never affect another client", async () => {
    // Its breaker opens; failing fast keeps this test short (by default later calls would wait for probes).
    const failing = makeClient({ maxRetries: 0, circuitBreaker: { whenOpen: 'fail' }, fetch: async () => new Response(null, { status: 500 }) });
    for (let i = 0; i < 25; i++) await rejectionOf(failing.request({ path: '/foo', method: 'get' }));
    let reached = 0;
    const fresh = makeClient({
      fetch: async () => {
        reached++;
        return json();
      },
    });
    expect(await fresh.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(reached).toBe(1);
  });

  test('a handful of failed calls (500s, 429s, connection errors) does not stop the next call from being sent', async () => {
    let mode: 'error' | 'limit' | 'down' | 'ok' = 'error';
    let reached = 0;
    const client = makeClient({
      maxRetries: 0,
      fetch: async () => {
        reached++;
        if (mode === 'down') throw new TypeError('fetch failed');
        if (mode === 'limit') return new Response(null, { status: 429 });
        return mode === 'error' ? new Response(null, { status: 500 }) : json();
      },
    });
    for (const next of ['error', 'error', 'limit', 'limit', 'down', 'down'] as const) {
      mode = next;
      await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    }
    mode = 'ok';
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(reached).toBe(7);
  });

  test('tiny message bodies go through untouched; an empty messages array is sent, as by the SDK', async () => {
    // The API decides about an empty `messages` (the SDK's own tests send one to a mock server).
    let body: unknown;
    let sent = 0;
    const client = makeClient({
      fetch: async (_url, init) => {
        sent++;
        body = JSON.parse(String(init?.body));
        return json(MESSAGE);
      },
    });
    await client.messages.create({ model: 'claude-test', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
    expect(body).toEqual({ model: 'claude-test', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
    await client.messages.create({ model: 'claude-test', max_tokens: 1, messages: [] });
    expect(body).toEqual({ model: 'claude-test', max_tokens: 1, messages: [] });
    expect(sent).toBe(2);
    // A raw request with a non-object body is not a Messages call we second-guess.
    await client.request({ path: '/v1/messages', method: 'post', body: 'hi' as any });
    expect(sent).toBe(3);
  });
});
