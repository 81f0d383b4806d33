import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  compressedClock,
  FakeAnthropicServer,
  type FakeAnthropicOptions,
  type FakeBatchItem,
  type FakeBatchItemOutcome,
} from './index';

type Batch = Anthropic.Messages.MessageBatch;
type Line = Anthropic.Messages.MessageBatchIndividualResponse;

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
});

/** A server on a manual clock (`clock.now`, starting at T0) and an SDK client without retries. */
async function start(opts: FakeAnthropicOptions = {}) {
  const clock = { now: T0 };
  server = await FakeAnthropicServer.start({ clock: () => clock.now, ...opts });
  const client = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  return { server, client, clock };
}

const params = (content: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 50,
  messages: [{ role: 'user', content }],
});

const requests = (...ids: string[]) => ids.map((custom_id) => ({ custom_id, params: params(custom_id) }));

async function results(client: Anthropic, id: string): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of await client.messages.batches.results(id)) out.push(line);
  return out;
}

const counts = (c: Partial<Batch['request_counts']>): Batch['request_counts'] => ({
  processing: 0,
  succeeded: 0,
  errored: 0,
  canceled: 0,
  expired: 0,
  ...c,
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('batch processing time', () => {
  it('stays in_progress for batches.processingMs, then ends with every result', async () => {
    const { client, clock } = await start({ batches: { processingMs: HOUR } });
    const batch = await client.messages.batches.create({ requests: requests('a', 'b', 'c') });
    expect(batch).toMatchObject({
      processing_status: 'in_progress',
      request_counts: counts({ processing: 3 }),
      created_at: iso(T0),
      expires_at: iso(T0 + DAY),
      ended_at: null,
      results_url: null,
    });
    clock.now = T0 + HOUR - 1;
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe('in_progress');
    await expect(client.messages.batches.results(batch.id)).rejects.toThrow(/results_url/);
    clock.now = T0 + HOUR;
    expect(await client.messages.batches.retrieve(batch.id)).toMatchObject({
      processing_status: 'ended',
      request_counts: counts({ succeeded: 3 }),
      ended_at: iso(T0 + HOUR),
    });
    const lines = await results(client, batch.id);
    expect(lines.map((l) => [l.custom_id, l.result.type])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
    ]);
  });

  it('keeps batchProcessingMs as an alias', async () => {
    const { client, clock } = await start({ batchProcessingMs: 1_000 });
    const batch = await client.messages.batches.create({ requests: requests('a') });
    expect(batch.processing_status).toBe('in_progress');
    clock.now += 1_000;
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe('ended');
  });
});

describe('per-item outcomes', () => {
  it('itemResult decides each item; the JSONL keeps submission order and the error objects', async () => {
    const seen: FakeBatchItem[] = [];
    const plan: Record<string, FakeBatchItemOutcome | undefined> = {
      ok: undefined,
      forced: 'succeeded',
      invalid: { error: { type: 'invalid_request_error', message: 'messages: too short' } },
      busy: { error: { type: 'overloaded_error', message: 'Overloaded' } },
      broken: { error: { type: 'api_error', message: 'Internal server error' } },
      late: 'expired',
      dropped: 'canceled',
    };
    const { client, clock } = await start({
      batches: {
        processingMs: 10_000,
        itemResult: (item) => {
          seen.push(item);
          return plan[item.customId];
        },
      },
    });
    const ids = Object.keys(plan);
    const batch = await client.messages.batches.create({ requests: requests(...ids) });
    expect(seen.map((i) => [i.customId, i.index, i.batchId])).toEqual(ids.map((id, i) => [id, i, batch.id]));
    expect(seen[0]!.params).toEqual(params('ok'));
    // Outcomes are only shown once the whole batch has ended, as in the real API.
    expect(batch.request_counts).toEqual(counts({ processing: 7 }));

    clock.now += 10_000;
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.request_counts).toEqual(counts({ succeeded: 2, errored: 3, expired: 1, canceled: 1 }));
    const lines = await results(client, batch.id);
    expect(lines.map((l) => l.custom_id)).toEqual(ids);
    expect(lines.map((l) => l.result.type)).toEqual([
      'succeeded',
      'succeeded',
      'errored',
      'errored',
      'errored',
      'expired',
      'canceled',
    ]);
    expect(lines[2]!.result).toEqual({
      type: 'errored',
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'messages: too short' },
        request_id: null,
      },
    });
    const errorTypes = lines.flatMap((l) => (l.result.type === 'errored' ? [l.result.error.error.type] : []));
    expect(errorTypes).toEqual(['invalid_request_error', 'overloaded_error', 'api_error']);
    const ok = lines[0]!.result;
    if (ok.type !== 'succeeded') throw new Error('unreachable');
    expect(ok.message.usage.service_tier).toBe('batch');
  });

  it("'succeeded' still errors an invalid request, as the default does", async () => {
    const { client } = await start({ batches: { itemResult: () => 'succeeded' } });
    const batch = await client.messages.batches.create({
      requests: [{ custom_id: 'bad', params: { ...params('x'), max_tokens: 0 } }],
    });
    expect(batch.request_counts).toEqual(counts({ errored: 1 }));
  });

  it('a bad itemResult value fails the create call with a 500 naming the option', async () => {
    const { client } = await start({
      batches: { itemResult: () => 'lost' as unknown as FakeBatchItemOutcome },
    });
    const err: unknown = await client.messages.batches.create({ requests: requests('a') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    const body = (err as InstanceType<typeof Anthropic.InternalServerError>).error as Anthropic.ErrorResponse;
    expect(body.error).toMatchObject({
      type: 'api_error',
      message: expect.stringMatching(/batches\.itemResult returned "lost"/),
    });
  });
});

describe('expiry', () => {
  it('a batch still processing at expiresAfterMs ends with its unfinished items expired', async () => {
    const { client, clock } = await start({
      batches: {
        processingMs: 2 * HOUR,
        expiresAfterMs: HOUR,
        itemResult: ({ customId }) => (customId === 'done' ? 'succeeded' : undefined),
      },
    });
    const batch = await client.messages.batches.create({ requests: requests('a', 'done', 'b') });
    expect(batch.expires_at).toBe(iso(T0 + HOUR));
    clock.now = T0 + HOUR - 1;
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe('in_progress');
    clock.now = T0 + HOUR;
    expect(await client.messages.batches.retrieve(batch.id)).toMatchObject({
      processing_status: 'ended',
      ended_at: iso(T0 + HOUR),
      request_counts: counts({ expired: 2, succeeded: 1 }),
    });
    expect((await results(client, batch.id)).map((l) => [l.custom_id, l.result.type])).toEqual([
      ['a', 'expired'],
      ['done', 'succeeded'],
      ['b', 'expired'],
    ]);
  });

  it('processing that finishes exactly at expiry succeeds', async () => {
    const { client, clock } = await start({ batches: { processingMs: HOUR, expiresAfterMs: HOUR } });
    const batch = await client.messages.batches.create({ requests: requests('a') });
    clock.now = T0 + HOUR;
    expect((await client.messages.batches.retrieve(batch.id)).request_counts).toEqual(counts({ succeeded: 1 }));
  });
});

describe('cancellation', () => {
  it('cancel → canceling for cancelDelayMs → ended, unfinished items canceled', async () => {
    const { client, clock, server } = await start({
      batches: {
        processingMs: HOUR,
        cancelDelayMs: 60_000,
        itemResult: ({ index }) => (index === 0 ? { error: { type: 'api_error', message: 'boom' } } : undefined),
      },
    });
    const batch = await client.messages.batches.create({ requests: requests('x', 'y', 'z') });
    clock.now = T0 + 1_000;
    const canceling = await client.messages.batches.cancel(batch.id);
    expect(canceling).toMatchObject({
      processing_status: 'canceling',
      cancel_initiated_at: iso(T0 + 1_000),
      request_counts: counts({ processing: 3 }),
      ended_at: null,
      results_url: null,
    });
    clock.now = T0 + 1_000 + 59_999;
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe('canceling');
    // A second cancel changes nothing; a canceling batch cannot be deleted yet.
    expect(await client.messages.batches.cancel(batch.id)).toMatchObject({
      processing_status: 'canceling',
      cancel_initiated_at: iso(T0 + 1_000),
    });
    await expect(client.messages.batches.delete(batch.id)).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    clock.now = T0 + 61_000;
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({
      processing_status: 'ended',
      ended_at: iso(T0 + 61_000),
      cancel_initiated_at: iso(T0 + 1_000),
      request_counts: counts({ errored: 1, canceled: 2 }),
    });
    expect((await results(client, batch.id)).map((l) => l.result.type)).toEqual(['errored', 'canceled', 'canceled']);
    expect(await client.messages.batches.cancel(batch.id)).toEqual(ended);
    expect(server.batchesCreated()).toEqual([
      { id: batch.id, createdAt: T0, customIds: ['x', 'y', 'z'], canceled: true, deleted: false },
    ]);
  });

  it('with the default cancelDelayMs 0 the answer says canceling and the batch has ended', async () => {
    const { client } = await start({ batches: { processingMs: HOUR } });
    const batch = await client.messages.batches.create({ requests: requests('a', 'b') });
    expect((await client.messages.batches.cancel(batch.id)).processing_status).toBe('canceling');
    expect(await client.messages.batches.retrieve(batch.id)).toMatchObject({
      processing_status: 'ended',
      ended_at: iso(T0),
      request_counts: counts({ canceled: 2 }),
    });
  });

  it('processing that finishes during canceling wins', async () => {
    const { client, clock } = await start({ batches: { processingMs: 10_000, cancelDelayMs: 60_000 } });
    const batch = await client.messages.batches.create({ requests: requests('a') });
    await client.messages.batches.cancel(batch.id);
    clock.now = T0 + 10_000;
    expect(await client.messages.batches.retrieve(batch.id)).toMatchObject({
      processing_status: 'ended',
      ended_at: iso(T0 + 10_000),
      request_counts: counts({ succeeded: 1 }),
    });
  });

  it('cancel on an ended batch returns it unchanged', async () => {
    const { client, server } = await start();
    const batch = await client.messages.batches.create({ requests: requests('a') });
    expect(batch.processing_status).toBe('ended');
    expect(await client.messages.batches.cancel(batch.id)).toEqual(batch);
    expect(server.batchesCreated()[0]!.canceled).toBe(false);
  });
});

describe('batchesCreated and the ledger', () => {
  it('lists every batch created, deleted ones included; the requests are in the ledger', async () => {
    const { client, server } = await start();
    const first = await client.messages.batches.create({ requests: requests('a', 'b') });
    const second = await client.messages.batches.create({ requests: requests('c') });
    await client.messages.batches.delete(first.id);
    const snapshot = server.batchesCreated();
    expect(snapshot).toEqual([
      { id: first.id, createdAt: T0, customIds: ['a', 'b'], canceled: false, deleted: true },
      { id: second.id, createdAt: T0, customIds: ['c'], canceled: false, deleted: false },
    ]);
    snapshot[0]!.customIds.push('mutated');
    expect(server.batchesCreated()[0]!.customIds).toEqual(['a', 'b']);
    expect(server.ledger.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/messages/batches',
      'POST /v1/messages/batches',
      `DELETE /v1/messages/batches/${first.id}`,
    ]);
  });
});

describe('compressedClock', () => {
  it('runs factor times faster than Date.now from start', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(T0);
    const clock = compressedClock(100_000);
    expect(clock()).toBe(T0);
    now.mockReturnValue(T0 + 36);
    expect(clock()).toBe(T0 + HOUR);
    expect(compressedClock(2, T0 - 10)()).toBe(T0 + 36 + 46);
  });

  it('plays a 1-hour batch out in milliseconds of real time', async () => {
    server = await FakeAnthropicServer.start({ clock: compressedClock(100_000), batches: { processingMs: HOUR } });
    const client = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
    const batch = await client.messages.batches.create({ requests: requests('a') });
    // The create answer is computed at the creation instant, so it is in progress whatever the timing.
    expect(batch.processing_status).toBe('in_progress');
    const realStart = Date.now();
    let current = batch;
    while (current.processing_status !== 'ended' && Date.now() - realStart < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      current = await client.messages.batches.retrieve(batch.id);
    }
    expect(current.processing_status).toBe('ended');
    expect(Date.parse(current.ended_at!) - Date.parse(current.created_at)).toBe(HOUR);
    expect(current.request_counts).toEqual(counts({ succeeded: 1 }));
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects factor %s', (factor) => {
    expect(() => compressedClock(factor)).toThrow(new RangeError('compressedClock factor must be a finite number > 0'));
  });

  it('rejects a non-finite start', () => {
    expect(() => compressedClock(10, Number.NaN)).toThrow(/compressedClock start must be a finite number/);
  });
});

describe('option validation', () => {
  it.each<[string, FakeAnthropicOptions, RegExp]>([
    ['processingMs -1', { batches: { processingMs: -1 } }, /^batches\.processingMs must be ≥ 0$/],
    ['processingMs NaN', { batches: { processingMs: Number.NaN } }, /^batches\.processingMs must be ≥ 0$/],
    ['expiresAfterMs 0', { batches: { expiresAfterMs: 0 } }, /^batches\.expiresAfterMs must be a finite number > 0$/],
    [
      'expiresAfterMs Infinity',
      { batches: { expiresAfterMs: Number.POSITIVE_INFINITY } },
      /^batches\.expiresAfterMs must be a finite number > 0$/,
    ],
    ['cancelDelayMs -5', { batches: { cancelDelayMs: -5 } }, /^batches\.cancelDelayMs must be ≥ 0$/],
    ['batchProcessingMs -1', { batchProcessingMs: -1 }, /^batchProcessingMs must be ≥ 0$/],
    [
      'alias and option differ',
      { batchProcessingMs: 5, batches: { processingMs: 6 } },
      /^batchProcessingMs and batches\.processingMs differ/,
    ],
  ])('start() rejects %s with a RangeError', async (_label, opts, message) => {
    const err: unknown = await FakeAnthropicServer.start(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects an itemResult that is not a function', async () => {
    const opts = { batches: { itemResult: 'succeeded' } } as unknown as FakeAnthropicOptions;
    const err: unknown = await FakeAnthropicServer.start(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('batches.itemResult must be a function');
  });

  it('accepts equal batchProcessingMs and batches.processingMs', async () => {
    const { client } = await start({ batchProcessingMs: 5, batches: { processingMs: 5 } });
    expect((await client.messages.batches.create({ requests: requests('a') })).processing_status).toBe('in_progress');
  });
});
