import { APIError, OverloadedError, type Middleware } from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/events';
import { StreamInterruptedError } from '../src/errors/stream-interrupted-error';
import { faults } from '../src/testing';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

/** Reads a `create({stream:true})` stream to the end, returning its event types and text. */
async function drain(stream: AsyncIterable<RawMessageStreamEvent>) {
  const types: string[] = [];
  let text = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return { types, text };
}

async function referenceText(): Promise<string> {
  const reference = env.client();
  const message = await reference.messages.create(params);
  env.server.resetLedger();
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

describe('streams that fail before their first content are retried', () => {
  it.each([
    ['an SSE error event', faults.sseError(0)],
    ['a cut socket', faults.cutStream(0)],
    ['an early end', faults.truncateStream(0)],
  ])('%s: the caller gets one complete stream', async (_name, fault) => {
    const expected = await referenceText();
    const client = env.client();
    env.server.schedule(fault);
    const { types, text } = await drain(await client.messages.create({ ...params, stream: true }));
    expect(text).toBe(expected);
    expect(types.filter((t) => t === 'message_start')).toHaveLength(1);
    expect(types.at(-1)).toBe('message_stop');
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('messages.stream().finalMessage() recovers the same way', async () => {
    const expected = await referenceText();
    const client = env.client();
    env.server.schedule(faults.sseError(0), faults.cutStream(0));
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: expected });
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(messageRequests(env.server)).toHaveLength(3);
  });

  it('an HTTP error before the stream starts is retried like any call', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded());
    const { types } = await drain(await client.messages.create({ ...params, stream: true }));
    expect(types.at(-1)).toBe('message_stop');
  });

  it('when retries run out, an SSE error reaches the caller as the SDK raises it', async () => {
    const client = env.client({ maxRetries: 1 });
    env.server.schedule(faults.sseError(0), faults.sseError(0));
    const stream = await client.messages.create({ ...params, stream: true });
    const error = (await drain(stream).catch((e: unknown) => e)) as APIError;
    expect(error).toBeInstanceOf(APIError);
    expect(error.type).toBe('overloaded_error');
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('when retries run out after a cut, the caller gets StreamInterruptedError, not a short success', async () => {
    const client = env.client({ maxRetries: 1 });
    env.server.schedule(faults.cutStream(0), faults.cutStream(0));
    const stream = await client.messages.create({ ...params, stream: true });
    const error = (await drain(stream).catch((e: unknown) => e)) as StreamInterruptedError;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.deltasReceived).toBe(0);
  });

  it('an HTTP error on the retry of a stream surfaces as the typed error', async () => {
    const client = env.client({ maxRetries: 1 });
    env.server.schedule(faults.sseError(0), faults.overloaded());
    const stream = await client.messages.create({ ...params, stream: true });
    await expect(drain(stream)).rejects.toBeInstanceOf(OverloadedError);
  });
});

describe('after the first content, a failure is an error, never a shortened success', () => {
  it('a cut socket raises StreamInterruptedError (not a bare TypeError)', async () => {
    const client = env.client();
    env.server.schedule(faults.cutStream(3));
    const stream = await client.messages.create({ ...params, stream: true });
    const error = (await drain(stream).catch((e: unknown) => e)) as StreamInterruptedError;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.kind).toBe('cut');
    expect(error.deltasReceived).toBe(3);
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('an end without message_stop raises StreamInterruptedError', async () => {
    const client = env.client();
    env.server.schedule(faults.truncateStream(2));
    const error = (await client.messages
      .stream(params)
      .finalMessage()
      .catch((e: unknown) => e)) as StreamInterruptedError;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.kind).toBe('incomplete');
  });

  it('an SSE error event after content reaches the caller as StreamInterruptedError, the server error as cause', async () => {
    const client = env.client();
    env.server.schedule(faults.sseError(2));
    const stream = await client.messages.create({ ...params, stream: true });
    const error = (await drain(stream).catch((e: unknown) => e)) as APIError;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ kind: 'error_event', deltasReceived: 2 });
    expect(error.type).toBe('overloaded_error');
    expect(error.cause).toBeInstanceOf(APIError);
    expect((error.cause as APIError).type).toBe('overloaded_error');
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('the call record says the stream failed', async () => {
    const client = env.client();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    env.server.schedule(faults.cutStream(2));
    const stream = await client.messages.create({ ...params, stream: true });
    await drain(stream).catch(() => undefined);
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ ok: false, stream: true, errorClass: 'StreamInterruptedError' });
  });
});

describe('stream accounting', () => {
  it('a stream cut after content is billed: input from message_start, output estimated from the text received', async () => {
    const client = env.client();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    env.server.schedule(faults.cutStream(4));
    const stream = await client.messages.create({ ...params, stream: true });
    let text = '';
    let input = 0;
    const error = await (async () => {
      for await (const event of stream) {
        if (event.type === 'message_start') input = event.message.usage.input_tokens;
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    await expect.poll(() => records.length).toBe(1);
    const record = records[0]!;
    expect(input).toBeGreaterThan(0);
    // Four deltas of one word each arrived: about 4 bytes a token, never less than the text needs.
    expect(record.tokens).toMatchObject({ input, output: Math.ceil(Buffer.byteLength(text) / 4) });
    expect(record.notes).toMatchObject({ billedPartial: true, outputEstimated: true, costApproximate: true });
    expect(record.costUsd).toBeGreaterThan(0);
  });


  it('a completed stream records the usage the server served', async () => {
    const client = env.client();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    const message = await client.messages.stream(params).finalMessage();
    await expect.poll(() => records.length).toBe(1);
    const served = env.server.stats().served;
    expect(records[0]).toMatchObject({ ok: true, stream: true, attempts: 1 });
    expect(records[0]!.tokens).toEqual({
      input: served.inputTokens,
      output: served.outputTokens,
      cacheRead: served.cacheReadTokens,
      cacheWrite: served.cacheWrite5mTokens + served.cacheWrite1hTokens,
    });
    expect(records[0]!.tokens!.output).toBe(message.usage.output_tokens);
  });

  it('a caller that breaks out early is recorded as cancelled, not failed by the service', async () => {
    const client = env.client();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    const stream = await client.messages.create({ ...params, stream: true });
    for await (const event of stream) {
      if (event.type === 'content_block_delta') break;
    }
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ ok: false, errorClass: 'APIUserAbortError' });
  });
});

describe('a user middleware that hands on its own copy of a stream', () => {
  /** Tees the body, reads one branch itself and hands on a new Response over the other (the SDK's documented pattern). */
  const teeing = () => {
    const seen: number[] = [];
    const middleware: Middleware = async (request, next) => {
      const response = await next(request);
      if (!response.body || !(response.headers.get('content-type') ?? '').includes('event-stream')) return response;
      const [mine, theirs] = response.body.tee();
      // A cut attempt errors this copy too: the middleware's own reader must not leave that unhandled.
      void (async () => {
        const reader = mine.getReader();
        let bytes = 0;
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.length;
        seen.push(bytes);
      })().catch(() => seen.push(-1));
      return new Response(theirs, response);
    };
    return { middleware, seen };
  };

  it('the call still completes: one record with its usage, nothing left in flight, the breaker and limiter settled', async () => {
    const { middleware, seen } = teeing();
    const client = env.client({ middleware: [middleware], circuitBreaker: { scope: 'client' } });
    const records: CallRecord[] = [];
    client.on('callComplete', (record) => records.push(record));
    const { types } = await drain(await client.messages.create({ ...params, stream: true }));
    expect(types.at(-1)).toBe('message_stop');
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ ok: true, stream: true });
    expect(records[0]!.tokens!.output).toBeGreaterThan(0);
    expect(client.health().inFlight).toBe(0);
    expect(client.costs.summary().requests).toBe(1);
    // The permit was settled by the stream's end: nothing is still reserved in the scope.
    const scopes = Object.values(client.health().rateLimit);
    expect(scopes).toHaveLength(1);
    expect(scopes[0]!.inFlight).toBe(0);
    await expect.poll(() => seen.length).toBe(1);
  });

  it('a JSON answer handed on as the middleware\'s own Response is still priced, limited and recorded', async () => {
    const rewrap: Middleware = async (request, next) => {
      const response = await next(request);
      return new Response(response.body, response);
    };
    const plain = env.client();
    const wrapped = env.client({ middleware: [rewrap], cost: { budget: { limitUsd: 10, window: 'day' } } });
    const records: CallRecord[] = [];
    wrapped.on('callComplete', (record) => records.push(record));
    const direct = await plain.messages.create(params);
    const message = await wrapped.messages.create(params);
    expect(message.content).toEqual(direct.content);
    expect(records).toHaveLength(1);
    expect(records[0]!.tokens).toMatchObject({ input: direct.usage.input_tokens, output: direct.usage.output_tokens });
    expect(wrapped.costs.summary().totalUsd).toBeCloseTo(plain.costs.summary().totalUsd, 12);
    expect(wrapped.costs.summary().totalUsd).toBeGreaterThan(0);
    expect(wrapped.costs.budget()!.spentUsd).toBeCloseTo(plain.costs.summary().totalUsd, 12);
  });

  it('a failure before content is still resumed through the copy', async () => {
    const expected = await referenceText();
    const { middleware } = teeing();
    const client = env.client({ middleware: [middleware] });
    env.server.schedule(faults.cutStream(0));
    const { types, text } = await drain(await client.messages.create({ ...params, stream: true }));
    expect(text).toBe(expected);
    expect(types.filter((t) => t === 'message_start')).toHaveLength(1);
    expect(messageRequests(env.server)).toHaveLength(2);
  });
});

describe('a caller that aborts between create() and reading', () => {
  it('gets no events, as with the SDK alone, even though the first ones were read ahead; the call is recorded as cancelled', async () => {
    const slow = await startServer({ latency: { perDeltaMs: 20 } });
    try {
      const client = slow.client();
      const records: CallRecord[] = [];
      client.on('callComplete', (record) => records.push(record));
      const controller = new AbortController();
      const stream = await client.messages.create({ ...params, max_tokens: 200, stream: true }, { signal: controller.signal });
      controller.abort();
      const seen: string[] = [];
      for await (const event of stream) seen.push(event.type);
      expect(seen).toEqual([]);
      await expect.poll(() => records.length).toBe(1);
      expect(records[0]).toMatchObject({ ok: false, errorClass: 'APIUserAbortError' });
      expect(client.health().inFlight).toBe(0);
    } finally {
      await slow.close();
    }
  });
});

