/**
 * `callOptions({ batch: true })` end to end: the client, the fake server's Message Batches (with its
 * configurable processing, per-item outcomes, expiry and cancellation), the ledger and the events.
 */
import Anthropic, { APIUserAbortError, BadRequestError, InternalServerError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { callOptions } from '../../src/call-options';
import { ResilientClaude } from '../../src/client';
import { BatchCallError } from '../../src/errors/batch-call-error';
import { ConfigError } from '../../src/errors/config-error';
import type { BatchEndedEvent, BatchSubmittedEvent, CallRecord } from '../../src/events';
import type { ResilientClaudeOptions } from '../../src/options';
import { FakeAnthropicServer, type FakeAnthropicOptions, type FakeBatchItemOutcome } from '../../src/testing';

const open: { server: FakeAnthropicServer; clients: ResilientClaude[] }[] = [];
afterEach(async () => {
  for (const { server, clients } of open.splice(0)) {
    for (const client of clients) await client.close();
    await server.close();
  }
});

/** Quick gathering and status checks, so a test takes milliseconds. */
const quick = { maxDelayMs: 20, pollIntervalMs: 10, maxPollIntervalMs: 40 };

async function setup(serverOptions: FakeAnthropicOptions = {}, options: ResilientClaudeOptions = {}) {
  const clock = { now: Date.now(), offset: 0 };
  const server = await FakeAnthropicServer.start({ clock: () => Date.now() + clock.offset, ...serverOptions });
  const entry = { server, clients: [] as ResilientClaude[] };
  open.push(entry);
  const make = (extra: ResilientClaudeOptions = {}) => {
    const client = new ResilientClaude({ apiKey: 'k', baseURL: server.url, logger: false, batch: quick, ...options, ...extra });
    entry.clients.push(client);
    return client;
  };
  const client = make();
  const records: CallRecord[] = [];
  const submitted: BatchSubmittedEvent[] = [];
  const ended: BatchEndedEvent[] = [];
  client.on('callComplete', (r) => records.push(r));
  client.on('batchSubmitted', (e) => submitted.push(e));
  client.on('batchEnded', (e) => ended.push(e));
  return { server, client, make, clock, records, submitted, ended };
}

const params = (i: number): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 40,
  messages: [{ role: 'user', content: `Summarise document number ${i} in one line.` }],
});

const directPosts = (server: FakeAnthropicServer) => server.ledger.filter((r) => r.method === 'POST' && r.path === '/v1/messages').length;

describe('batch: true', () => {
  it('sends 20 concurrent calls as one batch, resolves each to the Message a direct call returns, at exactly half the cost', async () => {
    const { server, client, make, records, submitted, ended } = await setup();
    const batched = await Promise.all(Array.from({ length: 20 }, (_, i) => client.messages.create(params(i), callOptions({ batch: true, tags: ['nightly'] }))));
    expect(directPosts(server)).toBe(0);
    expect(server.batchesCreated()).toHaveLength(1);
    expect(submitted).toEqual([expect.objectContaining({ calls: 20, resent: 0, persisted: false })]);
    expect(ended).toEqual([expect.objectContaining({ outcome: 'results', counts: { succeeded: 20, errored: 0, expired: 0, canceled: 0 } })]);

    const direct = make({ batch: undefined });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => direct.messages.create(params(i))));
    expect(directPosts(server)).toBe(20);
    for (let i = 0; i < 20; i++) {
      const [b, d] = [batched[i]!, answers[i]!];
      expect(Object.keys(b).sort()).toEqual(Object.keys(d).sort());
      expect({ ...b, id: '', usage: { ...b.usage, service_tier: '' } }).toEqual({ ...d, id: '', usage: { ...d.usage, service_tier: '' } });
      expect(b.usage.service_tier).toBe('batch');
    }

    const batchCost = client.costs.summary();
    const directCost = direct.costs.summary();
    expect(batchCost.requests).toBe(20);
    expect(batchCost.totalUsd).toBeGreaterThan(0);
    expect(BigInt(batchCost.exactUsd.replace('.', '')) * 2n).toBe(BigInt(directCost.exactUsd.replace('.', '')));
    expect(batchCost.savedUsd).toBeCloseTo(batchCost.totalUsd, 12);
    expect(batchCost.byTag['nightly']?.savedUsd).toBeCloseTo(batchCost.totalUsd, 12);
    expect(directCost.savedUsd).toBe(0);

    // One record per call, naming its batch; the queue's own requests are not calls.
    expect(records).toHaveLength(20);
    expect(records.every((r) => r.ok && r.path === '/v1/messages' && r.notes?.['batchId'] === submitted[0]!.batchId)).toBe(true);
    expect(records.every((r) => r.batched === true && r.attempts === 1)).toBe(true);
    // Their latency has a histogram of its own: minutes-long waits would drown the interactive one.
    const metrics = await client.metrics!.metrics();
    expect(metrics).toMatch(/anthropic_batch_latency_seconds_count\{model="claude-sonnet-4-6"\} 20/);
    expect(metrics).not.toMatch(/anthropic_request_latency_seconds_count\{/);
    expect(records.every((r) => (r.costUsd ?? 0) > 0)).toBe(true);
  });

  it('splits at batch.maxCalls', async () => {
    const { server, client } = await setup({}, { batch: { ...quick, maxCalls: 8 } });
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.messages.create(params(i), callOptions({ batch: true }))));
    expect(server.batchesCreated().map((b) => b.customIds.length)).toEqual([8, 8, 4]);
  });

  it("rejects a call whose request errored with the SDK's typed error; the others resolve", async () => {
    const itemResult = ({ index }: { index: number }): FakeBatchItemOutcome | undefined =>
      index === 1 ? { error: { type: 'invalid_request_error', message: 'messages.0: bad' } } : index === 2 ? { error: { type: 'api_error', message: 'boom' } } : undefined;
    const { server, client, records } = await setup({ batches: { itemResult } });
    const calls = [0, 1, 2, 3].map((i) => client.messages.create(params(i), callOptions({ batch: true })));
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const bad = (settled[1] as PromiseRejectedResult).reason as BadRequestError;
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('messages.0: bad');
    expect(bad.headers?.get('x-batch-id')).toBe(server.batchesCreated()[0]!.id);
    expect(bad.headers?.get('x-batch-custom-id')).toBe(server.batchesCreated()[0]!.customIds[1]);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(InternalServerError);
    // Never retried as a direct call, nor sent again in a batch.
    expect(directPosts(server)).toBe(0);
    expect(server.batchesCreated()).toHaveLength(1);
    expect(records.filter((r) => !r.ok).map((r) => r.errorClass).sort()).toEqual(['BadRequestError', 'InternalServerError']);
  });

  it('sends an expired request once more, and rejects with BatchCallError when it expires again', async () => {
    let expireAll = false;
    const seen = new Map<string, number>();
    const itemResult = ({ params: p }: { params: unknown }): FakeBatchItemOutcome | undefined => {
      const text = JSON.stringify(p);
      const count = (seen.get(text) ?? 0) + 1;
      seen.set(text, count);
      return expireAll || count === 1 ? 'expired' : undefined;
    };
    const { server, client, submitted } = await setup({ batches: { itemResult } });
    const message = await client.messages.create(params(1), callOptions({ batch: true }));
    expect(message.type).toBe('message');
    expect(server.batchesCreated()).toHaveLength(2);
    expect(submitted.map((e) => e.resent)).toEqual([0, 1]);

    expireAll = true;
    const error = await client.messages.create(params(2), callOptions({ batch: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchCallError);
    expect(error).toMatchObject({ reason: 'expired', submitted: true });
    expect(server.batchesCreated()).toHaveLength(4);
  });

  it('rejects a request cancelled by someone else with reason canceled, after one more try', async () => {
    const { server, client } = await setup({ batches: { itemResult: () => 'canceled' } });
    const error = await client.messages.create(params(1), callOptions({ batch: true })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BatchCallError', reason: 'canceled' });
    expect(server.batchesCreated()).toHaveLength(2);
  });

  it('drops a call aborted before its batch is sent: nothing reaches the server', async () => {
    const { server, client } = await setup({}, { batch: { ...quick, maxDelayMs: 60_000 } });
    const controller = new AbortController();
    const call = client.messages.create(params(1), { ...callOptions({ batch: true }), signal: controller.signal });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    expect(client.batching.pending).toEqual({ gathered: 0, batches: 0, calls: 0 });
    expect(server.ledger).toHaveLength(0);
  });

  it('cancels a batch once every call in it has been aborted, and not before', async () => {
    const { server, client, ended } = await setup({ batches: { processingMs: 3_600_000 } });
    const controllers = [new AbortController(), new AbortController()];
    const calls = controllers.map((c, i) => client.messages.create(params(i), { ...callOptions({ batch: true }), signal: c.signal }));
    const settled = Promise.allSettled(calls);
    await until(() => server.batchesCreated().length === 1 && client.batching.pending.batches === 1);
    controllers[0]!.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.batchesCreated()[0]!.canceled).toBe(false);
    controllers[1]!.abort();
    const results = await settled;
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof APIUserAbortError)).toBe(true);
    await until(() => server.batchesCreated()[0]!.canceled);
    await until(() => ended.length === 1);
    expect(ended[0]).toMatchObject({ outcome: 'cancelled' });
  });

  it('a call that gave up after its batch was sent is still billed in the ledger when the batch processes it', async () => {
    const { client, clock, records } = await setup({ batches: { processingMs: 3_600_000 } });
    const controller = new AbortController();
    const kept = client.messages.create(params(1), callOptions({ batch: true }));
    const abandoned = client.messages.create(params(2), { ...callOptions({ batch: true }), signal: controller.signal }).catch((e: unknown) => e);
    await until(() => client.batching.pending.calls === 2);
    controller.abort();
    expect(await abandoned).toBeInstanceOf(APIUserAbortError);
    clock.offset = 3_600_000;
    await kept;
    // Both requests were processed and are billed; only one call record carries a cost.
    expect(client.costs.summary().requests).toBe(2);
    expect(records.filter((r) => r.costUsd !== undefined)).toHaveLength(1);
  });

  it('rejects with reason within when the bound passes first, and cancels the abandoned batch', async () => {
    const { server, client } = await setup({ batches: { processingMs: 3_600_000 } });
    const error = await client.messages.create(params(1), callOptions({ batch: { within: 150 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchCallError);
    expect(error).toMatchObject({ reason: 'within', submitted: true });
    await until(() => server.batchesCreated()[0]?.canceled === true);
  });

  it('waits for a batch in progress, checking with backoff, and resolves when it ends', async () => {
    const { server, client, clock } = await setup({ batches: { processingMs: 3_600_000 } });
    const call = client.messages.create(params(1), callOptions({ batch: true }));
    await until(() => server.ledger.filter((r) => r.method === 'GET').length >= 3);
    // Waiting on a batch is not a request in flight: health says where the call is.
    expect(client.health()).toMatchObject({ inFlight: 0, batches: { gathered: 0, batches: 1, calls: 1 } });
    expect(await client.metrics!.metrics()).toMatch(/anthropic_batch_pending_calls 1\n/);
    clock.offset = 3_600_000;
    const message = await call;
    expect(message.content[0]?.type).toBe('text');
    const gets = server.ledger.filter((r) => r.method === 'GET' && !r.path.endsWith('/results')).map((r) => r.at);
    const gaps = gets.slice(1).map((t, i) => t - gets[i]!);
    // Doubling from 10 ms up to 40 ms: later gaps are never shorter than the first.
    expect(Math.min(...gaps.slice(1, 3))).toBeGreaterThanOrEqual(15);
  });

  it('reserves budget at the batch price: a call that fits only at half price is admitted as a batch', async () => {
    const big = { ...params(1), max_tokens: 4000 };
    const { client } = await setup({}, { cost: { budget: { limitUsd: 0.045 } } });
    // 4000 output tokens of Sonnet 4.6 are $0.06 at standard prices, $0.03 at batch prices.
    await expect(client.messages.create(big)).rejects.toMatchObject({ name: 'BudgetExceededError' });
    await expect(client.messages.create(big, callOptions({ batch: true }))).resolves.toMatchObject({ type: 'message' });
  });

  it('takes a max_tokens the SDK would refuse to wait for without streaming: a batched call never waits on a response', async () => {
    const { client } = await setup();
    const long = { ...params(1), max_tokens: 64_000 };
    expect(() => new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9' }).messages.create(long)).toThrow(/Streaming is required/);
    await expect(client.messages.create(long, callOptions({ batch: true }))).resolves.toMatchObject({ type: 'message' });
  });

  it('refuses batch on streams and countTokens, and bad settings, before any request', async () => {
    const { server, client } = await setup();
    await expect(client.messages.create({ ...params(1), stream: true }, callOptions({ batch: true }))).rejects.toThrow(/resilient\.batch/);
    await expect(client.messages.countTokens({ model: 'claude-sonnet-4-6', messages: params(1).messages }, callOptions({ batch: true }))).rejects.toBeInstanceOf(ConfigError);
    await expect(client.beta.messages.create({ ...params(1), betas: ['context-1m-2025-08-07'] }, callOptions({ batch: true }))).rejects.toThrow(/beta\.messages/);
    expect(() => new ResilientClaude({ apiKey: 'k', batches: { maxCalls: 5 } } as never)).toThrow(/did you mean `batch`/);
    expect(() => callOptions({ batches: true } as never)).toThrow(/did you mean `resilient\.batch`/);
    expect(() => callOptions({ batch: { within: -1 } })).toThrow(/resilient\.batch\.within/);
    expect(() => callOptions({ batch: { witin: 5 } as never })).toThrow(/resilient\.batch\.within/);
    expect(() => new ResilientClaude({ apiKey: 'k', batch: { maxCalls: 0 } })).toThrow(/batch\.maxCalls/);
    expect(server.ledger).toHaveLength(0);
  });

  it('close() without redis refuses calls not yet sent and cancels batches in progress', async () => {
    const { server, client } = await setup({ batches: { processingMs: 3_600_000 } }, { batch: { ...quick, maxCalls: 1 } });
    const sent = client.messages.create(params(1), callOptions({ batch: true })).catch((e: unknown) => e);
    await until(() => client.batching.pending.batches === 1);
    await client.close();
    const error = await sent;
    expect(error).toBeInstanceOf(BatchCallError);
    expect(error).toMatchObject({ reason: 'closed', submitted: true });
    expect((error as Error).message).toMatch(/cancelled/);
    expect(server.batchesCreated()[0]!.canceled).toBe(true);
    await expect(client.messages.create(params(2), callOptions({ batch: true }))).rejects.toMatchObject({ reason: 'closed', submitted: false });
  });

  it('resume() needs redis', async () => {
    const { client } = await setup();
    await expect(client.batching.resume()).rejects.toThrow(/redis/);
  });
});

async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
