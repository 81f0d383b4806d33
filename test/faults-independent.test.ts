/**
 * Reliability behaviours checked against the scripted server (test/support/scripted-server.ts), not the
 * fake server they were tuned on: streams that go silent, bodies that are cut, error events after
 * content, responses without rate-limit headers, request ids after a transparent stream retry, and what
 * interrupted streams cost.
 */
import { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { ResilientClaude } from '../src/client';
import { StreamInterruptedError } from '../src/errors/stream-interrupted-error';
import type { CallRecord } from '../src/events';
import type { ResilientClaudeOptions } from '../src/options';
import { b, ScriptedServer, type Script } from './support/scripted-server';

const params = { model: 'claude-sonnet-4-6', max_tokens: 5, messages: [{ role: 'user' as const, content: 'Hello there' }] };
const fast = { baseDelayMs: 1, maxDelayMs: 5, jitter: false };

const open: { server: ScriptedServer; client: ResilientClaude }[] = [];
afterEach(async () => {
  for (const { server, client } of open.splice(0)) {
    await client.close();
    await server.close();
  }
});

async function setup(script: Script, options: ResilientClaudeOptions = {}) {
  const server = await ScriptedServer.start(script);
  const client = new ResilientClaude({ apiKey: 'scripted', baseURL: server.url, logger: false, retry: fast, ...options });
  const records: CallRecord[] = [];
  client.on('callComplete', (r) => records.push(r));
  open.push({ server, client });
  return { server, client, records };
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _event of stream) n++;
  return n;
}

describe('streams cannot hang (streamIdleTimeoutMs)', () => {
  it('silence before content: the attempt is retried and the caller gets the whole message', async () => {
    const { server, client } = await setup([b.stallBody(), b.ok()], { streamIdleTimeoutMs: 200 });
    const message = await client.messages.stream(params).finalMessage();
    expect(message.stop_reason).toBe('end_turn');
    expect(server.requests).toHaveLength(2);
  });

  it('silence after content: StreamInterruptedError (idle) within the timeout, never a hang', async () => {
    const { client } = await setup([b.stallAfterContent(2)], { streamIdleTimeoutMs: 200 });
    const started = performance.now();
    const stream = await client.messages.create({ ...params, stream: true });
    const error = await drain(stream).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error).toMatchObject({ kind: 'idle', deltasReceived: 2 });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('pings count: a stream that only pings for longer than the timeout is alive', async () => {
    const { server, client } = await setup([b.pingsOnly(50, 500)], { streamIdleTimeoutMs: 200 });
    const message = await client.messages.stream(params).finalMessage();
    expect(message.stop_reason).toBe('end_turn');
    expect(server.requests).toHaveLength(1);
  });

  it('the default is finite (60 s) and documented in DEFAULTS', async () => {
    const { DEFAULTS } = await import('../src/options');
    expect(DEFAULTS.streamIdleTimeoutMs).toBe(60_000);
  });
});

describe('cut and silent JSON bodies', () => {
  it('a body cut mid-read is retried like a connection error', async () => {
    const { server, client } = await setup([b.cutBody(30), b.ok()]);
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(server.requests).toHaveLength(2);
  });

  it('a body that goes silent mid-read is retried after streamIdleTimeoutMs', async () => {
    const { server, client } = await setup([b.stallBody(30), b.ok()], { streamIdleTimeoutMs: 200 });
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(server.requests).toHaveLength(2);
  });

  it('on final failure the caller gets APIConnectionError, never a bare TypeError', async () => {
    const { server, client } = await setup(() => b.cutBody(30), { maxRetries: 2 });
    const error = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as Error).name).not.toBe('TypeError');
    expect(server.requests).toHaveLength(3);
  });
});

describe('an SSE error event after content', () => {
  it('is a StreamInterruptedError whose cause is the server error', async () => {
    const { client, records } = await setup([b.sseErrorAfter(2, 'overloaded_error')]);
    const stream = await client.messages.create({ ...params, stream: true });
    const error = (await drain(stream).catch((e: unknown) => e)) as StreamInterruptedError;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.kind).toBe('error_event');
    expect(error.cause).toBeInstanceOf(APIError);
    expect((error.cause as APIError).type).toBe('overloaded_error');
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ ok: false, errorClass: 'StreamInterruptedError' });
  });
});

describe('no rate-limit headers, no cage', () => {
  it("'auto' mode lifts its start-up concurrency cap after a few header-less responses", async () => {
    const { client } = await setup(() => b.ok(300));
    // 3 calls teach it that headers are missing; then 40 at once must run side by side, not 4 at a time.
    await Promise.all([1, 2, 3].map(() => client.messages.create(params)));
    const started = performance.now();
    await Promise.all(Array.from({ length: 40 }, () => client.messages.create(params)));
    const elapsed = performance.now() - started;
    // Capped at 4 in flight this takes 10 × 300 ms = 3 s; uncapped about one latency.
    expect(elapsed).toBeLessThan(1_500);
    expect(client.health().rateLimit['claude-sonnet-4-6']).toMatchObject({ learned: false, concurrencyLimit: Infinity });
  });
});

describe('after a transparent stream retry, the request id is that of the attempt that produced the content', () => {
  it('withResponse().request_id on create({ stream: true })', async () => {
    const { server, client } = await setup([b.sseErrorAfter(0, 'overloaded_error'), b.ok()]);
    const { data, request_id } = await client.messages.create({ ...params, stream: true }).withResponse();
    await drain(data);
    expect(server.requests).toHaveLength(2);
    expect(request_id).toBe('req_2');
  });

  it('MessageStream.request_id and its withResponse()', async () => {
    const { client } = await setup([b.stallBody(), b.ok()], { streamIdleTimeoutMs: 100 });
    const stream = client.messages.stream(params);
    const { request_id } = await stream.withResponse();
    await stream.finalMessage();
    expect(request_id).toBe('req_2');
    expect(stream.request_id).toBe('req_2');
  });
});

describe('interrupted and aborted streams are billed for what the server reported', () => {
  it('a stream cut after content is priced (input from message_start, output seen so far) and charged to the budget', async () => {
    const { client, records } = await setup([b.cutStream(3)], { cost: { budget: { limitUsd: 5, window: 'day' } } });
    const stream = await client.messages.create({ ...params, stream: true });
    await expect(drain(stream)).rejects.toBeInstanceOf(StreamInterruptedError);
    await expect.poll(() => records.length).toBe(1);
    const record = records[0]!;
    expect(record.ok).toBe(false);
    expect(record.tokens?.input).toBeGreaterThan(0);
    expect(record.tokens?.output).toBeGreaterThanOrEqual(1);
    expect(record.costUsd).toBeGreaterThan(0);
    expect(record.notes).toMatchObject({ billedPartial: true });
    expect(client.costs.total()).toBeCloseTo(record.costUsd!, 12);
    expect(client.costs.budget()).toMatchObject({ reservedUsd: 0 });
    expect(client.costs.budget()!.spentUsd).toBeCloseTo(record.costUsd!, 12);
  });

  it('a stream the caller aborts after content is priced too', async () => {
    const { client, records } = await setup([b.stallAfterContent(2)]);
    const controller = new AbortController();
    const stream = await client.messages.create({ ...params, stream: true }, { signal: controller.signal });
    let seen = 0;
    await (async () => {
      for await (const event of stream) {
        if ((event as { type: string }).type === 'content_block_delta' && ++seen === 2) controller.abort();
      }
    })().catch(() => undefined);
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ ok: false, errorClass: 'APIUserAbortError' });
    expect(records[0]!.costUsd).toBeGreaterThan(0);
  });
});

describe('budget reservations learn how far actual input exceeds the estimate', () => {
  it('after one call whose input was 10× the estimate, the next reservation is 10× as large', async () => {
    const estimateOnly = { ...params, messages: [{ role: 'user' as const, content: 'x'.repeat(400) }] };
    let inflate = 1;
    const reserved: number[] = [];
    const client: ResilientClaude = new ResilientClaude({
      apiKey: 'k',
      logger: false,
      cost: { budget: { limitUsd: 100, window: 'day' } },
      fetch: async () => {
        reserved.push(client.costs.budget()!.reservedUsd);
        const body = {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-6',
          content: [{ type: 'text', text: 'ok' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 100 * inflate, output_tokens: 1 },
        };
        return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
      },
    });
    await client.messages.create(estimateOnly); // estimate ≈ 100 input tokens, actual 100: ratio 1
    inflate = 10;
    await client.messages.create(estimateOnly); // actual 1,000 (a server tool, say)
    await client.messages.create(estimateOnly);
    // Same params each time: without learning, every reservation would be equal. Input dominates the
    // worst case here (≈100 tokens in, 5 out), so 10× the input is well over 4× the whole.
    expect(reserved[1]).toBeCloseTo(reserved[0]!, 12);
    expect(reserved[2]!).toBeGreaterThan(4 * reserved[1]!);
    await client.close();
  });
});
