/**
 * Cost ledger and budgets, end to end: `ResilientClaude` against the fake server, whose
 * `stats().served` counts exactly the usage of fully delivered responses — the ground truth the
 * client's ledger must match.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { callOptions } from '../../src/call-options';
import { PriceTable, worstCaseCost } from '../../src/cost';
import { parseExactUsd } from '../../src/cost/money';
import { BudgetExceededError } from '../../src/errors/budget-exceeded-error';
import type { BudgetWarningEvent, CallRecord, CostEvent, UnknownModelEvent } from '../../src/events';
import { estimateInputTokens } from '../../src/ratelimit/estimate';
import { faults } from '../../src/testing';
import {
  REDIS_BASE,
  deleteKeys,
  messageRecords,
  requireRedis,
  runWorker,
  startEnv,
  uniquePrefix,
  userParams,
  waitUntil,
  type Env,
} from './support';

let env: Env | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await env?.close();
  env = undefined;
});

/** The budget layer's reservation for `params`: estimated input at the input rate + max_tokens of output. */
function worstCase(params: { model: string; max_tokens: number }): number {
  return worstCaseCost(new PriceTable(), {
    model: params.model,
    inputTokens: estimateInputTokens(params),
    maxTokens: params.max_tokens,
    at: Date.now(),
  }).usd;
}

const femtoSum = (values: readonly string[]) => values.reduce((sum, v) => sum + parseExactUsd(v), 0n);

describe('ledger equals what the server served', () => {
  it('after a mixed run (JSON, streams, prompt caching, faults, retries) token totals match exactly; one cost event per billed call', async () => {
    env = await startEnv({ seed: 7 });
    const server = env.server;
    const client = env.client({ maxRetries: 2 });
    const costs: CostEvent[] = [];
    const records: CallRecord[] = [];
    client.on('cost', (e) => costs.push(e));
    client.on('callComplete', (r) => records.push(r));
    const failures: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        failures.push(error);
      }
    };
    const cached = {
      ...userParams('question about the manual'),
      system: [{ type: 'text' as const, text: 'A long manual. '.repeat(60), cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }],
    };

    // Plain JSON, with users and tags.
    await client.messages.create({ ...userParams('one'), metadata: { user_id: 'alice' } }, callOptions({ tags: ['search'] }));
    await client.messages.create({ ...userParams('two'), metadata: { user_id: 'bob' } }, callOptions({ tags: ['search', 'beta'] }));
    await client.messages.create(userParams('three'));
    // Prompt caching: a 1 h write, then reads.
    await client.messages.create(cached);
    await client.messages.create(cached);
    await client.messages.create({ ...cached, messages: [{ role: 'user', content: 'another question' }] });
    // Streams: raw SSE iteration and the MessageStream helper.
    const raw = await client.messages.create({ ...userParams('stream one'), stream: true });
    for await (const _event of raw) void _event;
    await client.messages.stream({ ...userParams('stream two'), metadata: { user_id: 'alice' } }).finalMessage();
    // Faults that are retried and then served.
    server.schedule(faults.overloaded(), faults.reset(), 'ok');
    await client.messages.create(userParams('retried twice'));
    server.schedule(faults.sseError(0));
    await client.messages.stream(userParams('stream retried before first delta')).finalMessage();
    server.schedule(faults.rateLimited({ retryAfterMs: 5 }));
    await client.messages.create(cached);
    // Faults that fail the call: nothing served in full; the two cut after content are billed partially.
    server.schedule(faults.badRequest('no'));
    await attempt(() => client.messages.create(userParams('bad request')));
    server.schedule(faults.serverError(500), faults.serverError(500), faults.serverError(500));
    await attempt(() => client.messages.create(userParams('exhausts retries')));
    server.schedule(faults.cutStream(2));
    await attempt(() => client.messages.stream(userParams('cut after content')).finalMessage());
    server.schedule(faults.sseError(3, 'api_error'));
    await attempt(async () => {
      const s = await client.messages.create({ ...userParams('sse error after content'), stream: true });
      for await (const _event of s) void _event;
    });

    expect(failures).toHaveLength(4);
    // Stream completions are recorded when the stream ends; wait for every call's record.
    expect(await waitUntil(() => records.length === 15, 2_000)).toBe(true);

    const served = server.stats().served;
    const summary = client.costs!.summary();
    // Two of the failed calls are streams interrupted after content: the API bills what it already
    // reported (input from message_start, output generated so far), so they are billed partially.
    const partial = records.filter((r) => r.notes?.['billedPartial'] === true);
    expect(partial.map((r) => r.ok)).toEqual([false, false]);
    for (const record of partial) {
      expect(record.tokens?.input).toBeGreaterThan(0);
      expect(record.tokens?.output).toBeGreaterThan(0);
      expect(record.costUsd).toBeGreaterThan(0);
    }
    const partialTokens = (key: 'input' | 'output' | 'cacheRead' | 'cacheWrite') =>
      partial.reduce((sum, r) => sum + (r.tokens?.[key] ?? 0), 0);
    // Everything else the ledger holds is exactly what the server served in full.
    expect(server.stats().servedResponses).toBe(11);
    expect(summary.requests).toBe(11 + partial.length);
    expect(summary.inputTokens - partialTokens('input')).toBe(served.inputTokens);
    expect(summary.outputTokens - partialTokens('output')).toBe(served.outputTokens);
    expect(summary.cacheReadTokens - partialTokens('cacheRead')).toBe(served.cacheReadTokens);
    expect(summary.cacheWriteTokens - partialTokens('cacheWrite')).toBe(served.cacheWrite5mTokens + served.cacheWrite1hTokens);
    expect(served.cacheWrite1hTokens).toBeGreaterThan(0);
    expect(served.cacheReadTokens).toBeGreaterThan(0);
    // Requests reached the server more often than calls were billed (retries, failed attempts).
    expect(messageRecords(server).length).toBeGreaterThan(15);

    // One cost event per billed call (served or partial), none for calls that were never billed;
    // the record of the same call carries costUsd.
    expect(costs).toHaveLength(11 + partial.length);
    const okRecords = records.filter((r) => r.ok);
    expect(okRecords).toHaveLength(11);
    for (const record of [...okRecords, ...partial]) {
      const event = costs.find((c) => c.callId === record.callId);
      expect(event).toBeDefined();
      expect(record.costUsd).toBe(event!.usd);
      expect(event!.usd).toBeGreaterThan(0);
      expect(event!.model).toBe('claude-sonnet-4-6');
    }
    for (const record of records.filter((r) => !r.ok && r.notes?.['billedPartial'] !== true)) {
      expect(record.costUsd).toBeUndefined();
      expect(costs.some((c) => c.callId === record.callId)).toBe(false);
    }
    // Exact: the ledger's total is the exact sum of the per-call amounts.
    expect(parseExactUsd(summary.exactUsd)).toBe(femtoSum(costs.map((c) => c.exactUsd)));
    expect(summary.byModel['claude-sonnet-4-6']?.requests).toBe(11 + partial.length);

    // Attribution: users from metadata.user_id, tags from callOptions({ tags }).
    expect(summary.byUser['alice']?.requests).toBe(2);
    expect(summary.byUser['bob']?.requests).toBe(1);
    expect(summary.byTag['search']?.requests).toBe(2);
    expect(summary.byTag['beta']?.requests).toBe(1);
    const aliceUsd = costs.filter((c) => c.user === 'alice').reduce((a, c) => a + parseExactUsd(c.exactUsd), 0n);
    expect(parseExactUsd(String(summary.byUser['alice']!.usd))).toBeGreaterThan(0n);
    expect(Math.abs(summary.byUser['alice']!.usd - Number(aliceUsd) / 1e15)).toBeLessThan(1e-12);
  });

  it('a recent window ({ sinceMs } / { days }) counts only recent calls; no argument counts the whole life', async () => {
    // Only Date is faked (timers, sockets and performance.now stay real), so the HTTP round trips are
    // untouched while the ledger's clock jumps two hours.
    const t0 = Date.UTC(2026, 2, 2, 10, 0, 0);
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    env = await startEnv();
    const client = env.client();
    await client.messages.create(userParams('old one'), callOptions({ tags: ['old'] }));
    await client.messages.create(userParams('old two'), callOptions({ tags: ['old'] }));
    vi.setSystemTime(t0 + 2 * 3_600_000);
    for (let i = 0; i < 3; i++) await client.messages.create(userParams(`new ${i}`), callOptions({ tags: ['new'] }));

    const whole = client.costs!.summary();
    const lastHalfHour = client.costs!.summary({ sinceMs: 30 * 60_000 }); // a duration back from now
    const sinceInstant = client.costs!.summary({ sinceMs: t0 + 3_600_000 }); // an epoch instant
    const lastDay = client.costs!.summary({ days: 1 });
    expect(whole.requests).toBe(5);
    expect(lastHalfHour.requests).toBe(3);
    expect(lastHalfHour.byTag).toEqual({ new: expect.objectContaining({ requests: 3 }) });
    expect(sinceInstant.requests).toBe(3);
    expect(lastDay.requests).toBe(5);
    expect(whole.totalUsd).toBeGreaterThan(lastHalfHour.totalUsd);
    expect(client.costs!.total({ sinceMs: 30 * 60_000 })).toBe(lastHalfHour.totalUsd);
  });

  it('an unknown model is priced by the fallback (never zero) and reported once', async () => {
    env = await startEnv();
    const client = env.client();
    const unknown: UnknownModelEvent[] = [];
    const costs: CostEvent[] = [];
    client.on('unknownModel', (e) => unknown.push(e));
    client.on('cost', (e) => costs.push(e));
    const model = 'claude-mystery-9';
    for (let i = 0; i < 3; i++) await client.messages.create({ ...userParams(`hi ${i}`), model });
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({ model });
    expect(typeof unknown[0]!.pricedModel).toBe('string');
    expect(costs).toHaveLength(3);
    for (const c of costs) {
      expect(c.model).toBe(model);
      expect(c.usd).toBeGreaterThan(0);
      expect(c.approximate).toBe(true);
    }
    expect(client.costs!.summary().byModel[model]?.usd).toBeGreaterThan(0);
  });
});

describe('budgets', () => {
  it('64 concurrent calls against a budget that fits about 10: settled ≤ limit, the rest refused before sending', async () => {
    env = await startEnv();
    const params = userParams('word '.repeat(50));
    const worst = worstCase(params);
    const limitUsd = worst * 10.5;
    const client = env.client({ cost: { budget: { limitUsd, window: 'day' } } });
    const results = await Promise.allSettled(Array.from({ length: 64 }, () => client.messages.create(params)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BudgetExceededError);
    const first = (refused[0] as PromiseRejectedResult).reason as BudgetExceededError;
    expect(first.scope).toBe('global');
    expect(first.limitUsd).toBeCloseTo(limitUsd, 12);
    expect(first.requestedUsd).toBeCloseTo(worst, 12);
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok + refused.length).toBe(64);
    expect(messageRecords(env.server)).toHaveLength(ok); // refused calls never reached the server
    const state = client.costs!.budget()!;
    expect(state.reservedUsd).toBe(0);
    expect(state.spentUsd).toBeLessThanOrEqual(limitUsd);
    expect(state.spentUsd).toBeCloseTo(client.costs!.summary().totalUsd, 12);
  });

  it('cannot be overshot by calls that write to the 1-hour prompt cache (priced 2× input)', async () => {
    // Output is pinned to max_tokens, so the output part of each reservation is exactly used; the input
    // part must then cover what a 1 h cache write really costs.
    env = await startEnv({ outputTokens: 64 });
    // Each call has its own system prompt (a distinct cache prefix), so every call writes to the cache.
    const paramsOf = (i: number) => ({
      ...userParams('question'),
      system: [
        { type: 'text' as const, text: `Reference ${String(i).padStart(2, '0')}. ${'Reference text. '.repeat(200)}`, cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } },
      ],
    });
    const limitUsd = worstCase(paramsOf(0)) * 10.5;
    const client = env.client({ cost: { budget: { limitUsd, window: 'day' } } });
    const results = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => client.messages.create(paramsOf(i))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(env.server.stats().served.cacheWrite1hTokens).toBeGreaterThan(0);
    expect(env.server.stats().served.cacheReadTokens).toBe(0);
    const state = client.costs!.budget()!;
    console.info(`[budget 1h cache] ${ok} served, settled $${state.spentUsd.toFixed(6)} vs limit $${limitUsd.toFixed(6)}`);
    expect(state.spentUsd).toBeLessThanOrEqual(limitUsd);
  });

  it('per-user budgets isolate users', async () => {
    env = await startEnv();
    const base = userParams('word '.repeat(50));
    const worst = worstCase(base);
    const client = env.client({ cost: { budget: { limitUsd: worst * 1_000, perUser: worst * 3.5, window: 'day' } } });
    const as = (user: string) => ({ ...base, metadata: { user_id: user } });
    const alice = await Promise.allSettled(Array.from({ length: 10 }, () => client.messages.create(as('alice'))));
    const aliceOk = alice.filter((r) => r.status === 'fulfilled').length;
    const aliceRefused = alice.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
    expect(aliceOk).toBeGreaterThanOrEqual(3);
    expect(aliceRefused.length).toBeGreaterThan(0);
    for (const error of aliceRefused) {
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect(error).toMatchObject({ scope: 'user', user: 'alice' });
    }
    // Bob is untouched by Alice's spend.
    const bob = await Promise.allSettled(Array.from({ length: 3 }, () => client.messages.create(as('bob'))));
    expect(bob.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(client.costs!.budget('alice')!.user!.spentUsd).toBeLessThanOrEqual(worst * 3.5);
    expect(messageRecords(env.server)).toHaveLength(aliceOk + 3);
    expect(client.costs!.summary().byUser['bob']?.requests).toBe(3);
  });

  it('budgetWarning fires once, when the settled spend first crosses warnAt', async () => {
    env = await startEnv();
    const params = userParams('word '.repeat(50));
    const limitUsd = worstCase(params) * 10.5;
    const client = env.client({ cost: { budget: { limitUsd, warnAt: 0.5, window: 'day' } } });
    const timeline: ({ kind: 'cost'; usd: number } | { kind: 'warning'; event: BudgetWarningEvent })[] = [];
    client.on('cost', (e) => timeline.push({ kind: 'cost', usd: e.usd }));
    client.on('budgetWarning', (event) => timeline.push({ kind: 'warning', event }));
    let refused: unknown;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      await client.messages.create(params).catch((error: unknown) => (refused = error));
    }
    expect(refused).toBeInstanceOf(BudgetExceededError);
    const warnings = timeline.filter((t) => t.kind === 'warning');
    expect(warnings).toHaveLength(1);
    const index = timeline.findIndex((t) => t.kind === 'warning');
    const spentAt = (n: number) => timeline.slice(0, n).reduce((a, t) => a + (t.kind === 'cost' ? t.usd : 0), 0);
    const event = (warnings[0] as { event: BudgetWarningEvent }).event;
    expect(event).toMatchObject({ scope: 'global', warnAt: 0.5 });
    expect(event.limitUsd).toBeCloseTo(limitUsd, 12);
    expect(event.spentUsd).toBeGreaterThanOrEqual(0.5 * limitUsd);
    expect(event.spentUsd).toBeCloseTo(spentAt(index), 9);
    // The call just before the warning's own call had not yet crossed the threshold.
    expect(spentAt(index - 1)).toBeLessThan(0.5 * limitUsd);
  });
});

describe('budgets shared through Redis', () => {
  let admin: Redis | undefined;
  const prefixes: string[] = [];
  afterAll(async () => {
    if (admin) for (const p of prefixes) await deleteKeys(admin, p);
    admin?.disconnect();
  });

  it('two processes share one budget without overshoot; a new client on the same keys keeps the spend', async () => {
    admin = await requireRedis();
    env = await startEnv();
    const prefix = uniquePrefix('budget');
    prefixes.push(prefix);
    const prompt = 'word '.repeat(50);
    const params = userParams(prompt);
    const worst = worstCase(params);
    const limitUsd = worst * 10.5;
    const common = {
      SERVER_URL: env.server.url,
      REDIS_URL: REDIS_BASE,
      PREFIX: prefix,
      CALLS: '32',
      CONCURRENCY: '32',
      PROMPT: prompt,
      BUDGET_USD: String(limitUsd),
      WORKERS: '2', // both start together once both are loaded
    };
    const reports = await Promise.all([runWorker(common), runWorker(common)]);
    for (const r of reports) {
      expect(r.errors).toEqual([]);
      expect(r.ok + r.budgetRefused).toBe(32);
    }
    const ok = reports.reduce((a, r) => a + r.ok, 0);
    const settled = femtoSum(reports.map((r) => r.exactUsd));
    console.info(`[redis budget] served ${reports.map((r) => r.ok).join(' + ')}, settled $${(Number(settled) / 1e15).toFixed(6)} of $${limitUsd.toFixed(6)}`);
    // Reservations are shared: together the two processes get about 10 calls, not about 10 each.
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(12);
    expect(messageRecords(env.server)).toHaveLength(ok); // refused calls never left their process
    expect(Number(settled) / 1e15).toBeLessThanOrEqual(limitUsd);

    // "Restart": a brand-new client on the same Redis keys sees the spend of both processes.
    const restarted = env.client({ redis: REDIS_BASE, redisPrefix: prefix, cost: { budget: { limitUsd, window: 'day' } } });
    const shared = await restarted.costs!.sharedSummary();
    expect(shared.requests).toBe(ok);
    expect(parseExactUsd(shared.exactUsd)).toBe(settled);
    let refusal: BudgetExceededError | undefined;
    let own = 0;
    for (let i = 0; i < 80 && !refusal; i++) {
      try {
        await restarted.messages.create(params);
        own++;
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(BudgetExceededError);
    // Its refusal counts the earlier processes' spend on top of its own.
    expect(own).toBeGreaterThan(0);
    expect(refusal!.spentUsd).toBeCloseTo(Number(settled) / 1e15 + restarted.costs!.summary().totalUsd, 9);
    expect(restarted.costs!.budget()!.spentUsd).toBeLessThanOrEqual(limitUsd);
  }, 60_000);
});
