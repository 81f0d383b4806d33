/**
 * Client-side rate limiting, end to end: `new ResilientClaude({ baseURL: fake.url })` against a fake
 * server that enforces RPM / ITPM / OTPM token buckets and sends Anthropic's `anthropic-ratelimit-*`
 * headers.
 *
 * Windows. The fake server's buckets refill over `windowMs` (the "minute"); the client learns the
 * refill rate from `limit`, `remaining` and `reset` (design §3: "rather than assuming a minute"). The
 * goodput runs use a 10 s window so that a run covers well over one window in ~15 s. Why not 6 s: the
 * `reset` header has whole-second precision, and a dedicated test below checks that a 6 s window is
 * learned too (see its comment).
 *
 * Explicit limits. `rateLimit: { rpm, itpm, otpm }` are per-minute ceilings (src/options.ts,
 * src/ratelimit/options.ts). "Equal to the server's" therefore means the server's limits expressed per
 * minute: `limit × 60 000 / windowMs`. Passing the per-window numbers unchanged would (correctly) pace
 * the client at 1/6 of the server's rate with a 10 s window.
 */
import { APIUserAbortError } from '@anthropic-ai/sdk';
import { describe, expect, it, onTestFinished } from 'vitest';
import { callOptions } from '../../src/call-options';
import { RateLimitCapacityError } from '../../src/errors/rate-limit-capacity-error';
import { RateLimitQueueFullError } from '../../src/errors/rate-limit-queue-full-error';
import { RateLimitWaitExceededError } from '../../src/errors/rate-limit-wait-exceeded-error';
import type { RateLimitedEvent } from '../../src/events';
import { countInputTokens, faults, type FakeAnthropicServer } from '../../src/testing';
import { MODEL, messageRecords, runBurst, sleep, startEnv, userParams, waitUntil, type Env } from './support';

const WINDOW_MS = 10_000;
const LIMITS = { rpm: 240, itpm: 12_000, otpm: 6_000 } as const;
const PER_MINUTE = 60_000 / WINDOW_MS;
/** 500 ASCII bytes: the server counts ceil(500 / 4) + 3 = 128 input tokens per call. */
const PROMPT = 'word '.repeat(100);
const CALLS = 240;
const IN_FLIGHT = 32;

/** Starts a fake server closed (with its clients) when the test ends; `onFinished` is the test's own hook. */
async function env(options: Parameters<typeof startEnv>[0] = {}, onFinished: typeof onTestFinished = onTestFinished): Promise<Env> {
  const e = await startEnv(options);
  onFinished(() => e.close());
  return e;
}

/** The text of the single user message of a recorded request. */
function contentOf(record: { body?: unknown }): string {
  const body = record.body as { messages?: { content?: unknown }[] } | undefined;
  const content = body?.messages?.[0]?.content;
  return typeof content === 'string' ? content : '';
}

/**
 * Input-token goodput of a run against the fake server, as a fraction of what the server's ITPM bucket
 * could possibly have admitted.
 *
 * The server's input bucket starts full (capacity C = itpm) and refills continuously at r = itpm /
 * windowMs. Between the arrival of the first request (t0) and of the last (t1) — both on the server's
 * clock, from its ledger — it can admit at most C + r·(t1 − t0) input tokens, no matter who sends them
 * or how. The run's useful work is the input tokens of fully served responses (`stats().served`; a
 * 429'd request serves nothing). Goodput = served / (C + r·(t1 − t0)).
 *
 * This is strict: the initial full bucket is in the denominator as well as the numerator, and since
 * every call of the run is queued from the start (more calls than fit), any time the client leaves
 * refilled capacity unused shows up as a lower ratio. With CALLS × 128 = 30 720 tokens against
 * C = 12 000, the steady-state part (after the initial bucket) is ~60% of the bound.
 */
function inputGoodput(server: FakeAnthropicServer, itpm: number, windowMs: number) {
  const records = messageRecords(server);
  const t0 = records[0]!.at;
  const t1 = records[records.length - 1]!.at;
  const bound = itpm + (itpm * (t1 - t0)) / windowMs;
  const served = server.stats().served.inputTokens;
  return { served, bound, ratio: served / bound, spanMs: t1 - t0 };
}

describe('rate limits learned from the fake server (long runs, concurrently)', () => {
  it.concurrent.for<'auto' | 'explicit'>(['auto', 'explicit'])(
    '%s mode: several hundred calls, 32 in flight, zero 429s and input-token goodput at least 95 percent',
    { timeout: 60_000 },
    async (mode, { expect, onTestFinished: onFinished }) => {
      const e = await env({ rateLimits: { ...LIMITS, windowMs: WINDOW_MS } }, onFinished);
      const client = e.client(
        mode === 'auto'
          ? {}
          : { rateLimit: { rpm: LIMITS.rpm * PER_MINUTE, itpm: LIMITS.itpm * PER_MINUTE, otpm: LIMITS.otpm * PER_MINUTE } },
      );
      const params = userParams(PROMPT);
      expect(countInputTokens(params)).toBe(128);
      // The binding limit is ITPM: per window it admits 12 000 / 128 ≈ 94 calls, while RPM allows 240 and
      // OTPM 6 000 (max_tokens 64 is reserved per call and the unused part refunded at the end).
      const events: RateLimitedEvent[] = [];
      client.on('rateLimited', (ev) => events.push(ev));
      let maxQueueDepth = 0;
      const sampler = setInterval(() => {
        const scope = client.health().rateLimit[MODEL];
        if (scope) maxQueueDepth = Math.max(maxQueueDepth, scope.queueDepth);
      }, 25);
      const run = await runBurst(() => client.messages.create(params), { calls: CALLS, concurrency: IN_FLIGHT, capMs: 35_000 });
      clearInterval(sampler);

      const stats = e.server.stats();
      const goodput = inputGoodput(e.server, LIMITS.itpm, WINDOW_MS);
      console.info(
        `[rate-limit ${mode}] ${run.ok}/${CALLS} ok in ${run.elapsedMs} ms, server 429s: ${stats.rateLimited}, ` +
          `input goodput ${(goodput.ratio * 100).toFixed(1)}% (${goodput.served} / ${goodput.bound.toFixed(0)} over ${goodput.spanMs} ms), ` +
          `learned ${JSON.stringify(client.health().rateLimit[MODEL]?.dimensions)}`,
      );

      expect(run.errors).toEqual([]);
      expect(run.capped).toBe(false);
      expect(run.ok).toBe(CALLS);
      // Zero 429s, counted two ways.
      expect(stats.rateLimited).toBe(0);
      expect(messageRecords(e.server).filter((r) => r.status === 429)).toHaveLength(0);
      expect(stats.servedResponses).toBe(CALLS);
      // Sanity of the setup: the request bucket was far from binding (same bound, for RPM).
      const rpmBound = LIMITS.rpm + (LIMITS.rpm * goodput.spanMs) / WINDOW_MS;
      expect(stats.servedResponses / rpmBound).toBeLessThan(0.6);

      // Visibility: waiting calls were announced per scope, and health shows the scope's buckets.
      expect(events.length).toBeGreaterThan(0);
      for (const ev of events) {
        expect(ev.scope).toBe(MODEL);
        expect(['requests', 'inputTokens', 'outputTokens', 'concurrency', 'pause', 'queue']).toContain(ev.dimension);
        expect(ev.waitMs).toBeGreaterThanOrEqual(0);
      }
      expect(events.some((ev) => ev.dimension === 'inputTokens' || ev.dimension === 'queue')).toBe(true);
      expect(maxQueueDepth).toBeGreaterThan(0);
      const scope = client.health().rateLimit[MODEL]!;
      expect(scope).toMatchObject({ learned: true, queueDepth: 0, inFlight: 0, store: 'local' });
      // Capacities are the server's limits, learned from the headers.
      expect(scope.dimensions.requests).toMatchObject({ capacity: LIMITS.rpm, known: true });
      expect(scope.dimensions.inputTokens).toMatchObject({ capacity: LIMITS.itpm, known: true });
      expect(scope.dimensions.outputTokens).toMatchObject({ capacity: LIMITS.otpm, known: true });
      // Last, so that every check above runs whatever the goodput.
      expect(goodput.ratio).toBeGreaterThanOrEqual(0.95);
    },
  );

  it.concurrent(
    'header learning: limits changed on the server mid-run are followed: no 429 storm after lowering, more throughput after raising',
    async ({ expect, onTestFinished: onFinished }) => {
      const e = await env({ rateLimits: { rpm: 600, itpm: 6_000, otpm: 30_000, windowMs: WINDOW_MS } }, onFinished);
      const client = e.client();
      const params = userParams(PROMPT);
      let stop = false;
      const errors: unknown[] = [];
      const worker = async () => {
        while (!stop) await client.messages.create(params).catch((error: unknown) => errors.push(error));
      };
      const started = Date.now();
      const workers = Promise.all(Array.from({ length: 16 }, worker));
      const at = (ms: number) => sleep(Math.max(0, started + ms - Date.now()));

      await at(5_000);
      const learnedBefore = client.health().rateLimit[MODEL]?.dimensions.inputTokens.capacity;
      const seqLowered = e.server.ledger.length;
      e.server.setRateLimits({ rpm: 600, itpm: 2_000, otpm: 30_000, windowMs: WINDOW_MS });
      const loweredAt = Date.now();
      await at(11_000);
      const learnedLowered = client.health().rateLimit[MODEL]?.dimensions.inputTokens.capacity;
      const seqRaised = e.server.ledger.length;
      e.server.setRateLimits({ rpm: 600, itpm: 12_000, otpm: 30_000, windowMs: WINDOW_MS });
      const raisedAt = Date.now();
      await at(17_000);
      stop = true;
      await workers;

      const records = messageRecords(e.server);
      const servedBetween = (from: number, to: number) =>
        records.filter((r) => r.at >= from && r.at < to).reduce((sum, r) => sum + (r.served?.inputTokens ?? 0), 0);
      // Steady-state throughput, skipping the 2 s after each change (the bucket keeps its fill ratio).
      const lowRate = servedBetween(loweredAt + 2_000, raisedAt) / ((raisedAt - loweredAt - 2_000) / 1000);
      const highRate = servedBetween(raisedAt + 2_000, started + 17_000) / ((started + 15_000 - raisedAt) / 1000);
      const before = records.filter((r) => r.seq <= seqLowered && r.status === 429).length;
      const afterLowering = records.filter((r) => r.seq > seqLowered && r.seq <= seqRaised && r.status === 429).length;
      const afterRaising = records.filter((r) => r.seq > seqRaised && r.status === 429).length;
      console.info(
        `[header learning] 429s before/after lowering/after raising: ${before}/${afterLowering}/${afterRaising}; ` +
          `input tokens/s lowered ${lowRate.toFixed(0)} (server rate 200), raised ${highRate.toFixed(0)} (server rate 1200)`,
      );

      expect(errors).toEqual([]);
      expect(learnedBefore).toBe(6_000);
      expect(learnedLowered).toBe(2_000);
      expect(client.health().rateLimit[MODEL]?.dimensions.inputTokens.capacity).toBe(12_000);
      expect(before).toBe(0);
      // The requests already on the wire when the limit drops may meet the smaller bucket; anything more
      // would be a storm. 16 are in flight; allow at most 2 collisions.
      expect(afterLowering).toBeLessThanOrEqual(2);
      expect(afterRaising).toBe(0);
      // Raising the limit 6× must show: at least 3× the steady-state throughput of the lowered phase.
      expect(highRate).toBeGreaterThanOrEqual(3 * lowRate);
    },
    40_000,
  );

  it.concurrent(
    'header learning: a short (6 s) window is learned from the headers: the refill rate is within 10% of the server’s',
    async ({ expect, onTestFinished: onFinished }) => {
      // The brief's suggestion: windowMs 6 000 so a "minute" passes in 6 s. The `reset` header has
      // one-second precision (and `date` too), so a single sample bounds the true refill rate only
      // loosely — but the true rate is 2 000 input tokens/s here, and a client that keeps the default
      // "per minute" (200/s) would run at 10% of the allowed throughput.
      const e = await env({ rateLimits: { rpm: 600, itpm: 12_000, otpm: 60_000, windowMs: 6_000 } }, onFinished);
      const client = e.client();
      const params = userParams(PROMPT);
      const stop = new AbortController();
      const worker = async () => {
        while (!stop.signal.aborted) {
          await client.messages.create(params, { signal: stop.signal }).catch((error: unknown) => {
            if (!(error instanceof APIUserAbortError)) throw error;
          });
        }
      };
      const workers = Promise.all(Array.from({ length: 32 }, worker));
      await sleep(9_000); // drains the bucket, then > 1 window of saturated traffic
      stop.abort(); // calls still waiting for capacity give up
      await workers;
      const learned = client.health().rateLimit[MODEL]!.dimensions.inputTokens;
      console.info(`[6 s window] learned input refill ${learned.refillPerSec.toFixed(1)}/s (server: 2000/s)`);
      expect(e.server.stats().rateLimited).toBe(0);
      expect(learned.capacity).toBe(12_000);
      expect(learned.refillPerSec).toBeGreaterThanOrEqual(0.9 * 2_000);
      expect(learned.refillPerSec).toBeLessThanOrEqual(2_000 * 1.01);
    },
    30_000,
  );
});

describe('queue', () => {
  it('serves waiting calls by priority, then arrival', async () => {
    const e = await env();
    const client = e.client({ rateLimit: { maxConcurrent: 1 } });
    e.server.schedule(faults.slowHeaders(300));
    const blocker = client.messages.create(userParams('blocker'));
    expect(await waitUntil(() => messageRecords(e.server).length === 1, 5_000)).toBe(true);
    const order: [number, string][] = [
      [0, 'low-1'],
      [10, 'high-1'],
      [5, 'mid-1'],
      [0, 'low-2'],
      [10, 'high-2'],
      [5, 'mid-2'],
    ];
    const calls = order.map(([priority, name]) => client.messages.create(userParams(name), callOptions({ priority })));
    expect(await waitUntil(() => client.health().rateLimit[MODEL]?.queueDepth === 6, 2_000)).toBe(true);
    await Promise.all([blocker, ...calls]);
    expect(messageRecords(e.server).map(contentOf)).toEqual(['blocker', 'high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
  });

  it('maxQueue: a call beyond the bound fails at once with RateLimitQueueFullError and is never sent', async () => {
    const e = await env();
    const client = e.client({ rateLimit: { maxConcurrent: 1, maxQueue: 2 } });
    e.server.schedule(faults.slowHeaders(500));
    let blockerDone = false;
    const blocker = client.messages.create(userParams('blocker')).finally(() => (blockerDone = true));
    expect(await waitUntil(() => messageRecords(e.server).length === 1, 5_000)).toBe(true);
    const queued = [client.messages.create(userParams('q1')), client.messages.create(userParams('q2'))];
    const error = await client.messages.create(userParams('q3')).catch((err: unknown) => err);
    expect(blockerDone).toBe(false); // refused while the blocker was still in flight: at once
    expect(error).toBeInstanceOf(RateLimitQueueFullError);
    expect(error).toMatchObject({ scope: MODEL, queueDepth: 2, maxQueue: 2 });
    await Promise.all([blocker, ...queued]);
    expect(messageRecords(e.server).map(contentOf)).toEqual(['blocker', 'q1', 'q2']);
  });

  it('maxWaitMs: a call that cannot get capacity in time fails with RateLimitWaitExceededError, never sent', async () => {
    const e = await env();
    const client = e.client({ rateLimit: { maxConcurrent: 1, maxWaitMs: 100 } });
    e.server.schedule(faults.slowHeaders(1_500));
    let blockerDone = false;
    const blocker = client.messages.create(userParams('blocker')).finally(() => (blockerDone = true));
    expect(await waitUntil(() => messageRecords(e.server).length === 1, 5_000)).toBe(true);
    const error = await client.messages.create(userParams('waiter')).catch((err: unknown) => err);
    expect(blockerDone).toBe(false);
    expect(error).toBeInstanceOf(RateLimitWaitExceededError);
    expect(error).toMatchObject({ scope: MODEL, waitingFor: 'concurrency', maxWaitMs: 100 });
    expect((error as RateLimitWaitExceededError).waitedMs).toBeGreaterThanOrEqual(90);
    await blocker;
    expect(messageRecords(e.server).map(contentOf)).toEqual(['blocker']);
  });

  it("aborting a waiting call (caller's AbortController) frees its queue slot; it is never sent", async () => {
    const e = await env();
    const client = e.client({ rateLimit: { maxConcurrent: 1, maxQueue: 1 } });
    e.server.schedule(faults.slowHeaders(600));
    const blocker = client.messages.create(userParams('blocker'));
    expect(await waitUntil(() => messageRecords(e.server).length === 1, 5_000)).toBe(true);
    const controller = new AbortController();
    const aborted = client.messages.create(userParams('aborted'), { signal: controller.signal }).catch((err: unknown) => err);
    expect(await waitUntil(() => client.health().rateLimit[MODEL]?.queueDepth === 1, 2_000)).toBe(true);
    // The queue (1) is full…
    await expect(client.messages.create(userParams('refused'))).rejects.toBeInstanceOf(RateLimitQueueFullError);
    controller.abort();
    expect(await aborted).toBeInstanceOf(APIUserAbortError);
    // …and the abort gave its slot back at once.
    expect(client.health().rateLimit[MODEL]?.queueDepth).toBe(0);
    const after = client.messages.create(userParams('after'));
    await Promise.all([blocker, after]);
    expect(messageRecords(e.server).map(contentOf)).toEqual(['blocker', 'after']);
  });

  it('aborting an admitted call in flight frees its concurrency slot for the next call', async () => {
    const e = await env();
    const client = e.client({ rateLimit: { maxConcurrent: 1 }, retry: false });
    e.server.schedule(faults.hang());
    const controller = new AbortController();
    const hung = client.messages.create(userParams('hung'), { signal: controller.signal }).catch((err: unknown) => err);
    expect(await waitUntil(() => messageRecords(e.server).length === 1, 5_000)).toBe(true);
    const next = client.messages.create(userParams('next'));
    expect(await waitUntil(() => client.health().rateLimit[MODEL]?.queueDepth === 1, 2_000)).toBe(true);
    controller.abort();
    expect(await hung).toBeInstanceOf(APIUserAbortError);
    // The SDK's timeout is 10 minutes: `next` can only be served because the abort settled the permit.
    await expect(next).resolves.toMatchObject({ type: 'message' });
    expect(client.health().rateLimit[MODEL]).toMatchObject({ inFlight: 0, queueDepth: 0 });
  });

  it('a call whose estimate exceeds a bucket capacity fails at once with RateLimitCapacityError (explicit limit)', async () => {
    const e = await env();
    const client = e.client({ rateLimit: { itpm: 600 } });
    const error = await client.messages.create(userParams('word '.repeat(500))).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimitCapacityError);
    expect(error).toMatchObject({ scope: MODEL, dimension: 'inputTokens', capacity: 600 });
    expect((error as RateLimitCapacityError).requested).toBeGreaterThan(600);
    expect(messageRecords(e.server)).toHaveLength(0);
    // A call within the ceiling goes through.
    await expect(client.messages.create(userParams('hi'))).resolves.toMatchObject({ type: 'message' });
    expect(messageRecords(e.server).map(contentOf)).toEqual(['hi']);
  });

  it('a call heavier than a learned bucket fails at once with RateLimitCapacityError (auto mode)', async () => {
    const e = await env({ rateLimits: { rpm: 100, itpm: 1_000, otpm: 2_000, windowMs: WINDOW_MS } });
    const client = e.client();
    await client.messages.create(userParams('learn the limits'));
    const heavyInput = await client.messages.create(userParams('word '.repeat(1_000))).catch((err: unknown) => err);
    expect(heavyInput).toBeInstanceOf(RateLimitCapacityError);
    expect(heavyInput).toMatchObject({ dimension: 'inputTokens', capacity: 1_000 });
    const heavyOutput = await client.messages.create({ ...userParams('short'), max_tokens: 5_000 }).catch((err: unknown) => err);
    expect(heavyOutput).toBeInstanceOf(RateLimitCapacityError);
    expect(heavyOutput).toMatchObject({ dimension: 'outputTokens', capacity: 2_000, requested: 5_000 });
    expect(messageRecords(e.server)).toHaveLength(1);
  });
});
