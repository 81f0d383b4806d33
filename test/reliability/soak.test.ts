/**
 * Soak: 40,000 calls in `npm test` (100,000 with `npm run test:soak`; `SOAK_CALLS` overrides) through every default layer — `new ResilientClaude({ apiKey,
 * baseURL })` plus a quieter logger — against a zero-latency fake server, 32 in flight, all on one
 * long-lived caller `AbortSignal`. A mix of JSON calls (80 %), streams read with `for await` (10 %) and
 * `messages.stream().finalMessage()` (10 %), over 3 models and 200 users.
 *
 * What it proves:
 * - heap growth after forced GC stays under {@link HEAP_GROWTH_BOUND_MB} over the whole run, and the
 *   second half grows less than {@link SECOND_HALF_BOUND_MB} (a per-call leak would grow linearly);
 * - no listener leak: the client's EventHub has the same listeners as before, the caller's signal has
 *   none left;
 * - no timer or handle leak: active timers stay flat during the run, and after `client.close()` and the
 *   server's close every kind of active resource is back to its count before the test;
 * - every call was counted: the ledger's requests and tokens equal the server's served totals.
 *
 * Why 4 MB (and 2.5 MB for the second half): every bounded structure — the cost ledger's minute/hour/day
 * buckets with their caps on users and models, the fake server's ledger (≤ 2 × 100 + 1024 records), the
 * limiter's three scopes, the breakers' rolling windows, undici's socket pool — is at its steady size after
 * the warm-up, so what remains is noise: the same run without a caller signal measured +0.5 MB over the
 * run and +1.0 MB over its second half (Node 20.20, 2 cores). A per-call leak of 40 bytes is 4 MB over
 * 100k calls, and 50 bytes a call is 2.5 MB over the 50k calls of the second half: the bounds catch
 * anything of that order (at the 40k of `npm test`, which keeps CI under its time limit: 100 and 125
 * bytes a call), with 1.5–3 MB of margin over the measured noise. (A looser bound such as
 * 30 MB would let a 250-byte-per-call leak through: 2.5 GB over 10M calls of a long-running server.)
 *
 * The caller's long-lived signal is also checked at the mechanism level: what it retains per call
 * (Node's internal set of signals derived from it with `AbortSignal.any`, where available) must not
 * grow with the number of calls.
 */
import { getEventListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { ResilientClaude } from '../../src/client';
import { FakeAnthropicServer } from '../../src/testing';
import { activeResources, captureEventHub, formatCounts, percentile, printTable, runPool, settledHeapMb, textOf, trackUnhandledRejections } from './helpers';

const CALLS = Number(process.env.SOAK_CALLS ?? 40_000);
const WARMUP = 3_000;
const IN_FLIGHT = 32;
const HEAP_GROWTH_BOUND_MB = 4;
const SECOND_HALF_BOUND_MB = 2.5;
const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5', 'claude-opus-4-6'] as const;
const USERS = 200;

/** The call for index `i`: deterministic, so the mix is the same on every run. */
function paramsFor(i: number): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: MODELS[i % MODELS.length]!,
    max_tokens: 32 + (i % 4) * 16,
    messages: [{ role: 'user', content: `Soak question ${i % 97}: how are you?` }],
    metadata: { user_id: `user-${i % USERS}` },
  };
}

describe(`soak: ${CALLS} calls through every default layer`, () => {
  it('heap growth is bounded, and no listener, timer or handle leaks', async () => {
    const resourcesBefore = activeResources();
    const server = await FakeAnthropicServer.start({
      recordBodies: false,
      ledgerLimit: 100,
      // Generous limits, never reached: the server then sends `anthropic-ratelimit-*` headers (as the
      // real API always does), so the default 'auto' limiter learns them instead of staying at its
      // startup concurrency.
      rateLimits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 },
    });
    const { value: client, hub } = captureEventHub(
      () => new ResilientClaude({ apiKey: 'soak-key', baseURL: server.url, logger: { level: 'warn' } }),
    );
    const session = new AbortController();
    const unhandled = trackUnhandledRejections();
    let maxSignalListeners = 0;
    let maxTimers = 0;
    const errors: Record<string, number> = {};
    const latencies: number[] = [];

    /** Signals derived from the caller's signal that it still references (Node internals; -1 if unknown). */
    const derivedFromSession = (): number => {
      const symbol = Object.getOwnPropertySymbols(session.signal).find((sym) => sym.description === 'kDependantSignals');
      const set = symbol ? ((session.signal as unknown as Record<symbol, unknown>)[symbol] as { size?: unknown } | undefined) : undefined;
      // Node's internal SafeSet is not `instanceof Set` here; read its size.
      return typeof set?.size === 'number' ? set.size : symbol ? 0 : -1;
    };

    const call = async (i: number) => {
      const params = paramsFor(i);
      const started = performance.now();
      try {
        const kind = i % 10;
        if (kind < 8) {
          const message = await client.messages.create(params, { signal: session.signal });
          if (textOf(message.content).length === 0) throw new Error('empty answer');
        } else if (kind === 8) {
          const stream = await client.messages.create({ ...params, stream: true }, { signal: session.signal });
          let last = '';
          for await (const event of stream) last = event.type;
          if (last !== 'message_stop') throw new Error(`stream ended with ${last}`);
        } else {
          const message = await client.messages.stream(params, { signal: session.signal }).finalMessage();
          if (!message.stop_reason) throw new Error('no stop_reason');
        }
      } catch (error) {
        const name = error instanceof Error ? error.name : String(error);
        errors[name] = (errors[name] ?? 0) + 1;
      }
      if (i % 64 === 0) {
        latencies.push(performance.now() - started);
        maxSignalListeners = Math.max(maxSignalListeners, getEventListeners(session.signal, 'abort').length);
        maxTimers = Math.max(maxTimers, activeResources().Timeout ?? 0);
      }
    };

    /** The run proper; the client and server are closed whatever happens. */
    const measure = async () => {
      // Warm up: JIT, sockets, and every bounded structure filled to its steady size.
      await runPool(WARMUP, IN_FLIGHT, (i) => call(i));
      const heapBefore = await settledHeapMb();
      const listenersBefore = hub.listenerCount();
      const timersIdleBefore = activeResources().Timeout ?? 0;

      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const half = Math.floor(CALLS / 2);
      await runPool(half, IN_FLIGHT, (i) => call(WARMUP + i));
      const heapMid = await settledHeapMb();
      await runPool(CALLS - half, IN_FLIGHT, (i) => call(WARMUP + half + i));
      const runMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      // Streams settle their records in a continuation after the body ends.
      await delay(50);
      return {
        heapBefore,
        heapMid,
        heapAfter: await settledHeapMb(),
        derivedAfter: derivedFromSession(),
        listenersBefore,
        listenersAfter: hub.listenerCount(),
        timersIdleBefore,
        timersIdleAfter: activeResources().Timeout ?? 0,
        runMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        served: server.stats(),
        summary: client.costs!.summary(),
        health: client.health(),
      };
    };
    let resourcesAfter: Record<string, number> = {};
    let m: Awaited<ReturnType<typeof measure>>;
    try {
      m = await measure();
    } finally {
      unhandled.dispose();
      await client.close();
      await server.close();
      // Sockets and timers close asynchronously: wait (bounded) until they are gone.
      for (let i = 0; i < 50; i++) {
        resourcesAfter = activeResources();
        if (Object.entries(resourcesAfter).every(([type, n]) => n <= (resourcesBefore[type] ?? 0))) break;
        await delay(100);
      }
    }
    const { heapBefore, heapMid, heapAfter, derivedAfter, listenersBefore, listenersAfter, timersIdleBefore, timersIdleAfter, runMs, cpuMs, served, summary, health } = m;

    const total = WARMUP + CALLS;
    printTable(`soak — ${CALLS.toLocaleString('en')} calls (+${WARMUP} warm-up), ${IN_FLIGHT} in flight, default layers`, [
      ['run time', `${(runMs / 1000).toFixed(1)} s — ${((CALLS / runMs) * 1000).toFixed(0)} calls/s, CPU ${(cpuMs / 1000).toFixed(1)} s (client and server in one process)`],
      ['latency p50 / p95 / max', `${percentile(latencies, 50).toFixed(2)} / ${percentile(latencies, 95).toFixed(2)} / ${percentile(latencies, 100).toFixed(1)} ms`],
      ['heap after GC', `${heapBefore.toFixed(1)} MB → ${heapMid.toFixed(1)} MB (half) → ${heapAfter.toFixed(1)} MB: +${(heapAfter - heapBefore).toFixed(1)} MB (bound ${HEAP_GROWTH_BOUND_MB}), second half +${(heapAfter - heapMid).toFixed(1)} MB (bound ${SECOND_HALF_BOUND_MB})`],
      ['EventHub listeners', `${listenersBefore} → ${listenersAfter}`],
      ['caller signal listeners', `max ${maxSignalListeners} during the run (≤ ${IN_FLIGHT} in flight), ${getEventListeners(session.signal, 'abort').length} after`],
      ['signals derived from it', derivedAfter < 0 ? 'not observable on this Node' : `${derivedAfter.toLocaleString('en')} still referenced by the caller signal after ${total.toLocaleString('en')} calls (AbortSignal.any)`],
      ['active timers', `idle ${timersIdleBefore} → ${timersIdleAfter}, max ${maxTimers} during the run`],
      ['resources before / after close', `${formatCounts(resourcesBefore)}  /  ${formatCounts(resourcesAfter)}`],
      ['errors', formatCounts(errors)],
      ['ledger vs served', `requests ${summary.requests}/${served.servedResponses} · input ${summary.inputTokens}/${served.served.inputTokens} · output ${summary.outputTokens}/${served.served.outputTokens}`],
      ['unhandled rejections', unhandled.count()],
    ]);

    expect.soft(errors, 'calls that failed on a fault-free server').toEqual({});
    expect.soft(unhandled.count()).toBe(0);
    expect.soft(summary.requests).toBe(total);
    expect.soft(served.servedResponses).toBe(total);
    expect.soft([summary.inputTokens, summary.outputTokens]).toEqual([served.served.inputTokens, served.served.outputTokens]);
    // What the long-lived caller signal retains must not grow with the number of calls.
    if (derivedAfter >= 0) expect.soft(derivedAfter, 'signals the caller signal still references (one per call = a leak)').toBeLessThanOrEqual(IN_FLIGHT);
    expect.soft(heapAfter - heapBefore, 'heap growth over the run, MB').toBeLessThan(HEAP_GROWTH_BOUND_MB);
    expect.soft(heapAfter - heapMid, 'heap growth over the second half, MB').toBeLessThan(SECOND_HALF_BOUND_MB);
    expect.soft(listenersAfter, 'EventHub listeners').toBe(listenersBefore);
    expect.soft(getEventListeners(session.signal, 'abort'), 'listeners left on the caller signal').toHaveLength(0);
    expect.soft(maxSignalListeners).toBeLessThanOrEqual(IN_FLIGHT);
    expect.soft(timersIdleAfter, 'idle timers after the run vs before it').toBeLessThanOrEqual(timersIdleBefore);
    expect.soft(health.inFlight).toBe(0);
    expect.soft(Object.values(health.rateLimit).filter((s) => s.inFlight !== 0 || s.queueDepth !== 0)).toEqual([]);
    const leftover = Object.entries(resourcesAfter).filter(([type, n]) => n > (resourcesBefore[type] ?? 0));
    expect.soft(leftover, 'active resources left after close() (type, count)').toEqual([]);
  }, 600_000);
});
