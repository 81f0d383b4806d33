/**
 * The batch queue alone, against an in-memory Batches API whose answers each test scripts: gathering,
 * failures of the API itself, and results that are read twice or lack a call.
 */
import type { MessageBatch, MessageBatchIndividualResponse } from '@anthropic-ai/sdk/resources/messages/batches';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchCallError } from '../errors/batch-call-error';
import { EventHub } from '../events';
import type { LogSink } from '../logging';
import { BatchQueue, type BatchApi, type BatchCallResult } from './batch-queue';

const silent: LogSink = { log: () => undefined, enabled: () => false };

function view(id: string, status: MessageBatch['processing_status']): MessageBatch {
  return {
    id,
    type: 'message_batch',
    processing_status: status,
    request_counts: { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    created_at: '',
    expires_at: '',
    ended_at: null,
    cancel_initiated_at: null,
    archived_at: null,
    results_url: null,
  };
}

const message = (text: string) =>
  ({ id: 'msg', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text }], usage: {} }) as never;

/** An API that ends every batch at once and answers each request with its own text, unless told otherwise. */
class ScriptedApi implements BatchApi {
  created: { id: string; customIds: string[] }[] = [];
  createError: unknown;
  resultsFailures = 0;
  drop = new Set<number>();
  cancelled: string[] = [];
  /** When set, results() waits for it before answering. */
  gate: Promise<void> | undefined;

  async create(requests: ReadonlyArray<{ custom_id: string; params: object }>): Promise<MessageBatch> {
    if (this.createError) throw this.createError;
    const id = `b${this.created.length + 1}`;
    this.created.push({ id, customIds: requests.map((r) => r.custom_id) });
    return view(id, 'ended');
  }
  async retrieve(id: string): Promise<MessageBatch> {
    return view(id, 'ended');
  }
  async results(id: string): Promise<AsyncIterable<MessageBatchIndividualResponse>> {
    await this.gate;
    const batch = this.created.find((b) => b.id === id)!;
    const fail = this.resultsFailures > 0;
    if (fail) this.resultsFailures--;
    const drop = this.drop;
    return (async function* () {
      for (let i = 0; i < batch.customIds.length; i++) {
        if (fail && i === 1) throw new Error('connection reset while reading results');
        if (drop.has(i)) continue;
        yield { custom_id: batch.customIds[i]!, result: { type: 'succeeded', message: message(`answer ${i}`) } };
      }
    })();
  }
  async cancel(id: string): Promise<MessageBatch> {
    this.cancelled.push(id);
    return view(id, 'canceling');
  }
}

const options = { maxCalls: 3, maxDelayMs: 100, pollIntervalMs: 10, maxPollIntervalMs: 40, claimMs: 1000 };

afterEach(() => {
  vi.useRealTimers();
});

function queue(api: BatchApi) {
  return new BatchQueue(() => api, options, { events: new EventHub(() => undefined), log: silent });
}

const text = (r: BatchCallResult) => (r.type === 'succeeded' ? (r.message.content[0] as { text: string }).text : r.type);

describe('BatchQueue', () => {
  it('sends a batch when maxCalls have gathered, without waiting for maxDelayMs', async () => {
    vi.useFakeTimers();
    const api = new ScriptedApi();
    const q = queue(api);
    const calls = [1, 2, 3].map(() => q.enqueue({ params: {} }));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.created).toHaveLength(1);
    expect((await Promise.all(calls)).map(text)).toEqual(['answer 0', 'answer 1', 'answer 2']);
  });

  it('sends a lone call after maxDelayMs, not before', async () => {
    vi.useFakeTimers();
    const api = new ScriptedApi();
    const call = queue(api).enqueue({ params: {} });
    await vi.advanceTimersByTimeAsync(99);
    expect(api.created).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(text(await call)).toBe('answer 0');
  });

  it('sends a batch before its requests would pass the size the API accepts', async () => {
    const api = new ScriptedApi();
    const q = queue(api);
    const big = 100 * 1024 * 1024;
    await Promise.all([q.enqueue({ params: {}, bytes: big }), q.enqueue({ params: {}, bytes: big }), q.enqueue({ params: {}, bytes: 10 })]);
    expect(api.created.map((b) => b.customIds.length)).toEqual([1, 2]);
  });

  it('rejects every call of a batch that could not be created with the API error', async () => {
    const api = new ScriptedApi();
    const failure = Object.assign(new Error('overloaded'), { status: 529 });
    api.createError = failure;
    const q = queue(api);
    const results = await Promise.allSettled([q.enqueue({ params: {} }), q.enqueue({ params: {} })]);
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : r.value))).toEqual([failure, failure]);
    expect(q.pending).toEqual({ gathered: 0, batches: 0, calls: 0 });
  });

  it('reads results again after a read fails halfway, and settles each call exactly once', async () => {
    const api = new ScriptedApi();
    api.resultsFailures = 1;
    const q = queue(api);
    const settled = vi.fn();
    const calls = [0, 1, 2].map(() => q.enqueue({ params: {} }).then((r) => (settled(), r)));
    expect((await Promise.all(calls)).map(text)).toEqual(['answer 0', 'answer 1', 'answer 2']);
    expect(settled).toHaveBeenCalledTimes(3);
    expect(api.created).toHaveLength(1);
  });

  it('rejects a call its batch results lack with reason missing', async () => {
    const api = new ScriptedApi();
    api.drop.add(1);
    const q = queue(api);
    const results = await Promise.allSettled([0, 1, 2].map(() => q.enqueue({ params: {} })));
    expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.any(BatchCallError) });
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ reason: 'missing', batchId: 'b1' });
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  });

  it('a call whose within passes before its batch is sent is dropped; the others travel without it', async () => {
    vi.useFakeTimers();
    const api = new ScriptedApi();
    const q = queue(api);
    const short = q.enqueue({ params: {}, within: 50 }).catch((e: unknown) => e);
    const long = q.enqueue({ params: {} });
    await vi.advanceTimersByTimeAsync(50);
    expect(await short).toMatchObject({ reason: 'within', submitted: false });
    await vi.advanceTimersByTimeAsync(50);
    await long;
    expect(api.created.map((b) => b.customIds.length)).toEqual([1]);
  });

  it('close() while results are being read leaves them unread here: nothing is settled or billed twice', async () => {
    const api = new ScriptedApi();
    let open!: () => void;
    api.gate = new Promise((resolve) => (open = resolve));
    const billed: string[] = [];
    const q = new BatchQueue(() => api, options, { events: new EventHub(() => undefined), log: silent, onRecovered: (c) => billed.push(c.customId) });
    const call = q.enqueue({ params: {} }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(api.created).toHaveLength(1));
    await q.close();
    open();
    expect(await call).toMatchObject({ reason: 'closed', submitted: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(billed).toEqual([]);
    expect(api.cancelled).toEqual(['b1']);
  });
});
