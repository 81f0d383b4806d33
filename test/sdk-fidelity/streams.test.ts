/**
 * Streams and response helpers keep the SDK's behaviour: the per-request retry budget reaches
 * `messages.stream`, SSE bytes pass through unchanged, and `withResponse` / `asResponse` / `_request_id`
 * work as documented (catalogue §3.6, §3.7, §3.1 "stream parse errors are logged"; R4, R11, R13, R17).
 */
import Anthropic, { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { describe, expect, test, vi } from 'vitest';
import { ResilientClaude, StreamInterruptedError } from '../../src';
import {
  isolateEnv,
  json,
  makeClient,
  MESSAGE,
  PARAMS,
  rejectionOf,
  sse,
  sseText,
  STREAM_EVENT_TYPES,
  STREAM_EVENTS,
  within,
} from './helpers';

isolateEnv();

/** A fetch that fails every call with a plain Error (what `mockFetch` handlers throw). */
function failingFetch() {
  const state = { calls: 0 };
  const fetch = async (): Promise<Response> => {
    state.calls++;
    throw new Error('mock request error');
  };
  return { fetch, state };
}

describe.each([
  ['messages.stream', (client: Anthropic) => client.messages.stream(PARAMS, { maxRetries: 0 })],
  ['beta.messages.stream', (client: Anthropic) => client.beta.messages.stream(PARAMS, { maxRetries: 0 })],
] as const)('%s with a per-request maxRetries of 0', (_name, open) => {
  test('a failing fetch ends in APIConnectionError after exactly 1 fetch (client default budget ignored)', async () => {
    const { fetch, state } = failingFetch();
    const client = makeClient({ fetch });
    const stream = open(client);
    expect(await rejectionOf(stream.finalMessage())).toBeInstanceOf(APIConnectionError);
    expect(state.calls).toBe(1);
  });

  test('the same through the async iterator', async () => {
    const { fetch, state } = failingFetch();
    const client = makeClient({ fetch });
    const stream = open(client);
    const error = await rejectionOf(
      (async () => {
        for await (const _event of stream) {
          // nothing arrives
        }
      })(),
    );
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(state.calls).toBe(1);
  });
});

describe('MessageStream', () => {
  test('withResponse() on a failing stream rejects with APIConnectionError (no unhandled rejection)', async () => {
    const { fetch, state } = failingFetch();
    const client = makeClient({ fetch, defaultHeaders: { 'anthropic-beta': 'fine-grained-tool-streaming-2025-05-14' } });
    const pending = client.messages.stream(PARAMS, { maxRetries: 0 }).withResponse();
    expect(await rejectionOf(pending)).toBeInstanceOf(APIConnectionError);
    expect(state.calls).toBe(1);
  });

  test('a complete stream yields every event, the final message and the final text', async () => {
    const client = makeClient({ fetch: async () => sse(sseText(), 17) });
    const stream = client.messages.stream(PARAMS);
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    await stream.done();
    expect(types).toEqual(STREAM_EVENT_TYPES);
    const message = await stream.finalMessage();
    expect(message).toMatchObject({ id: MESSAGE.id, model: MESSAGE.model, stop_reason: 'end_turn' });
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hello there!' }]);
    expect(await stream.finalText()).toBe('Hello there!');
  });

  test('emits the same events, in the same order, as a plain Anthropic client', async () => {
    const record = async (client: Anthropic) => {
      const events: string[] = [];
      const stream = client.messages.stream(PARAMS);
      stream.on('connect', () => events.push('connect'));
      stream.on('streamEvent', (event) => events.push(`streamEvent:${event.type}`));
      stream.on('text', (delta) => events.push(`text:${delta}`));
      stream.on('contentBlock', (block) => events.push(`contentBlock:${block.type}`));
      stream.on('message', (message) => events.push(`message:${message.id}`));
      stream.on('finalMessage', (message) => events.push(`finalMessage:${message.id}`));
      stream.on('end', () => events.push('end'));
      await stream.done();
      return events;
    };
    const ours = await record(makeClient({ fetch: async () => sse(sseText(), 5) }));
    const plain = await record(new Anthropic({ apiKey: 'sk-test', fetch: async () => sse(sseText(), 5) }));
    expect(ours).toEqual(plain);
  });

  test('breaking out of the iterator aborts the stream: done() rejects with APIUserAbortError', async () => {
    const client = makeClient({ fetch: async () => sse() });
    const stream = client.messages.stream(PARAMS);
    for await (const event of stream) {
      if (event.type === 'content_block_delta') break;
    }
    expect(await rejectionOf(stream.done())).toBeInstanceOf(APIUserAbortError);
    expect(stream.aborted).toBe(true);
  });
});

describe('SSE bytes pass through unchanged (R13)', () => {
  const withExtras =
    ': a comment line\n\n' +
    'event: ping\ndata: {"type": "ping"}\n\n' +
    sseText().replace('event: content_block_delta\n', 'id: 7\nevent: content_block_delta\n') +
    'event: ping\ndata: {"type":"ping"}\n\n';

  test.each([
    ['a plain stream, one chunk', sseText(), undefined],
    ['a plain stream, cut into 7-byte chunks', sseText(), 7],
    ['comments, pings and ids, cut into 3-byte chunks', withExtras, 3],
    ['CRLF line endings, cut into 11-byte chunks', sseText().replace(/\n/g, '\r\n'), 11],
  ] as const)('asResponse() body equals the server bytes: %s', async (_label, text, chunk) => {
    const client = makeClient({ fetch: async () => sse(text, chunk) });
    const response = await client.messages.create({ ...PARAMS, stream: true }).asResponse();
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(text);
  });

  test('a malformed JSON event is logged through the custom logger and the iteration rejects', async () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      fetch: async () => sse('event: message_start\ndata: {malformed\n\n'),
    });
    const stream = await client.messages.create({ ...PARAMS, stream: true });
    const failure = await rejectionOf(
      (async () => {
        for await (const _event of stream) {
          // the first event cannot be parsed
        }
      })(),
    );
    expect(failure).toBeInstanceOf(Error);
    expect(logger.error).toHaveBeenCalledWith('Could not parse message into JSON:', '{malformed');
  });

  test('an SSE error event after content: StreamInterruptedError, an APIError with the SDK error as cause and its facts', async () => {
    const text =
      sseText(STREAM_EVENTS.slice(0, 3)) +
      'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error","message":"nope"}}\n\n';
    const run = async (client: Anthropic) =>
      rejectionOf(
        (async () => {
          const stream = await client.messages.create({ ...PARAMS, stream: true });
          for await (const _event of stream) {
            // drain until the error
          }
        })(),
      );
    const headers = { 'request-id': 'req_sse' };
    const ours = await run(makeClient({ maxRetries: 0, fetch: async () => sse(text, undefined, headers) }));
    const plain = await run(new Anthropic({ apiKey: 'sk-test', maxRetries: 0, fetch: async () => sse(text, undefined, headers) }));
    expect(ours).toBeInstanceOf(StreamInterruptedError);
    expect(ours).toBeInstanceOf(APIError);
    expect(ours).toMatchObject({ kind: 'error_event', type: 'invalid_request_error', requestID: 'req_sse' });
    expect((ours as APIError).error).toEqual((plain as APIError).error);
    expect((ours as Error).cause).toBeInstanceOf(plain.constructor as typeof Error);
    expect(((ours as Error).cause as Error).message).toBe(plain.message);
  });
});

describe('withResponse / asResponse / _request_id', () => {
  const fetchWithId = async () => json({ id: 'bar' }, { headers: { 'request-id': 'req_xxx', 'x-custom': 'yes' } });

  test('withResponse gives the data, the raw response and the request id', async () => {
    const client = makeClient({ fetch: fetchWithId });
    const { data, response, request_id } = await client.messages.create(PARAMS).withResponse();
    expect(request_id).toBe('req_xxx');
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(data.id).toBe('bar');
    expect(JSON.stringify(data)).toBe('{"id":"bar"}');
  });

  test('the awaited value is withResponse().data, and asResponse() is withResponse().response', async () => {
    const client = makeClient({ fetch: fetchWithId });
    const promise = client.messages.create(PARAMS);
    const { data, response } = await promise.withResponse();
    expect(await promise).toBe(data);
    expect(await promise.asResponse()).toBe(response);
  });

  test('asResponse() is a Response, the awaited value is not', async () => {
    const client = makeClient({ fetch: async () => json(MESSAGE) });
    const raw = await client.messages.create(PARAMS).asResponse();
    expect(raw).toBeInstanceOf(Response);
    expect(await raw.json()).toEqual(MESSAGE);
    const parsed = await client.messages.create(PARAMS);
    expect(parsed).not.toBeInstanceOf(Response);
  });

  test('object responses carry _request_id', async () => {
    const client = makeClient({ fetch: fetchWithId });
    const message = await client.messages.create(PARAMS);
    expect(message._request_id).toBe('req_xxx');
  });

  test('the request id survives a retry: it is the id of the response that served the call', async () => {
    let calls = 0;
    const client = makeClient({
      maxRetries: 1,
      fetch: async () =>
        ++calls === 1
          ? json({ type: 'error', error: { type: 'api_error', message: 'boom' } }, { status: 500, headers: { 'request-id': 'req_failed' } })
          : json({ id: 'bar' }, { headers: { 'request-id': 'req_ok' } }),
    });
    const { request_id } = await client.messages.create(PARAMS).withResponse();
    expect(request_id).toBe('req_ok');
    expect(calls).toBe(2);
  });

  test('a list page goes through requestAPIList and has no _request_id', async () => {
    const client = makeClient({ fetch: async () => json({ data: [], has_more: false, first_id: null, last_id: null }) });
    const page = await client.beta.messages.batches.list();
    expect(page.data).toEqual([]);
    expect((page as any)._request_id).toBeUndefined();
  });
});

describe('stream bodies are not held back (R13)', () => {
  const encode = (event: string, data: Record<string, unknown>) =>
    new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const byType = Object.fromEntries(STREAM_EVENTS.map(([type, data]) => [type, data]));

  test('every event reaches the reader as soon as its bytes arrive, before the next chunk exists', async () => {
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const client = makeClient({
      fetch: async () =>
        new Response(new ReadableStream<Uint8Array>({ start: (controller) => void (push = controller) }), {
          headers: { 'content-type': 'text/event-stream' },
        }),
    });
    const stream = await within(client.messages.create({ ...PARAMS, stream: true }), 3_000, 'create() to resolve');
    const iterator = stream[Symbol.asyncIterator]();
    for (const type of STREAM_EVENT_TYPES) {
      push.enqueue(encode(type, byType[type]!));
      const next = await within(iterator.next(), 3_000, `${type} to reach the reader`);
      expect((next.value as { type: string }).type).toBe(type);
    }
    push.close();
    expect((await within(iterator.next(), 3_000, 'the end of the stream')).done).toBe(true);
  });

  test('the request timeout bounds the wait for response headers, not for the first event', async () => {
    let fetches = 0;
    const client = makeClient({
      timeout: 50,
      fetch: async () => {
        fetches++;
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(encode('message_start', byType['message_start']!));
            await new Promise((resolve) => setTimeout(resolve, 200));
            for (const [type, data] of STREAM_EVENTS.slice(1)) controller.enqueue(encode(type, data));
            controller.close();
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      },
    });
    const stream = client.messages.stream(PARAMS);
    expect(await within(stream.finalText(), 5_000, 'the final text')).toBe('Hello there!');
    expect(fetches).toBe(1);
  });
});
