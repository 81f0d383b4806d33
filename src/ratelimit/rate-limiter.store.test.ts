/**
 * The limiter's shared-store logic against a scripted fake store (the real Redis store is covered in
 * test/ratelimit): polling on "wait", give-back of a reservation whose waiter left, fallback and
 * recovery, 'fail' mode.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitStoreUnavailableError } from './errors';
import { RateLimiter } from './rate-limiter';
import { type SharedBucketStore, type StoreReserveResult } from './store';
import { type Demand, type Permit, type RateLimitEvent } from './types';

const T0 = Date.UTC(2026, 0, 1);
const req = (inputTokens = 0): Demand => ({ requests: 1, inputTokens, outputTokens: 0 });

class FakeStore implements SharedBucketStore {
  state: 'ready' | 'pending' | 'down' = 'ready';
  reserves: { demand: Demand; resolve: (r: StoreReserveResult) => void; reject: (e: unknown) => void }[] = [];
  adjusts: (readonly [number, number, number])[] = [];
  pings = 0;
  pingOk = false;
  throwOnReserve = false;

  connectionState(): 'ready' | 'pending' | 'down' {
    return this.state;
  }
  reserve(_scope: string, demand: Demand): Promise<StoreReserveResult> {
    if (this.throwOnReserve) throw new Error('store bug');
    return new Promise((resolve, reject) => this.reserves.push({ demand, resolve, reject }));
  }
  async adjust(_scope: string, delta: readonly [number, number, number]): Promise<void> {
    this.adjusts.push(delta);
  }
  async sync(): Promise<void> {}
  async pause(): Promise<void> {}
  async ping(): Promise<void> {
    this.pings++;
    if (!this.pingOk) throw new Error('still down');
  }
  async close(): Promise<void> {}
  answer(result: StoreReserveResult): void {
    const r = this.reserves.shift();
    if (!r) throw new Error('no reservation pending');
    r.resolve(result);
  }
}

function track<T>(p: Promise<T> | T) {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  Promise.resolve(p).then(
    (v) => Object.assign(t, { state: 'resolved', value: v }),
    (e: unknown) => Object.assign(t, { state: 'rejected', error: e }),
  );
  return t;
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(opts: { onRedisError?: 'local' | 'fail' } = {}) {
  const store = new FakeStore();
  const events: RateLimitEvent[] = [];
  const limiter = new RateLimiter({
    mode: 'explicit',
    limits: { rpm: 100, itpm: 10_000 },
    store,
    onRedisError: opts.onRedisError ?? 'local',
    storeProbeIntervalMs: 100,
    storePollMaxMs: 1000,
    now: () => Date.now(),
    onEvent: (e) => events.push(e),
  });
  return { store, events, limiter };
}

describe('RateLimiter with a shared store', () => {
  it('admits through the store, one reservation in flight per scope, in queue order', async () => {
    const { store, limiter } = setup();
    const a = track(limiter.acquire('s', req(10)));
    const b = track(limiter.acquire('s', req(20)));
    expect(store.reserves.map((r) => r.demand.inputTokens)).toEqual([10]);
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('resolved');
    expect(store.reserves.map((r) => r.demand.inputTokens)).toEqual([20]);
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(b.state).toBe('resolved');
    // The local mirror was charged too (used if the store fails later).
    expect(limiter.snapshot().s?.dimensions.inputTokens.available).toBe(10_000 - 30);
    expect(limiter.snapshot().s?.store).toBe('redis');
  });

  it('polls again after the wait the store names (capped by storePollMaxMs)', async () => {
    const { store, limiter, events } = setup();
    const a = track(limiter.acquire('s', req(10)));
    store.answer({ kind: 'wait', waitMs: 400, reason: 'inputTokens' });
    await vi.advanceTimersByTimeAsync(399);
    expect(store.reserves).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.reserves).toHaveLength(1);
    store.answer({ kind: 'wait', waitMs: 60_000, reason: 'inputTokens' });
    await vi.advanceTimersByTimeAsync(999);
    expect(store.reserves).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.reserves).toHaveLength(1); // capped at 1 s: other processes may give back sooner
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('resolved');
    expect((a.value as Permit).waitedMs).toBe(1400);
    expect(events.filter((e) => e.type === 'rateLimited')).toEqual([{ type: 'rateLimited', scope: 's', dimension: 'inputTokens', waitMs: 400 }]);
  });

  it("mirrors another process's 429 pause locally", async () => {
    const { store, limiter } = setup();
    track(limiter.acquire('s', req(10)));
    store.answer({ kind: 'wait', waitMs: 30_000, reason: 'pause' });
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.snapshot().s?.pausedUntil).toBe(T0 + 30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(store.reserves).toHaveLength(0); // no polling during a known pause
    await vi.advanceTimersByTimeAsync(1);
    expect(store.reserves).toHaveLength(1);
    void limiter.close();
  });

  it('a settle while reserving triggers an immediate retry instead of waiting for the poll', async () => {
    const { store, limiter } = setup();
    const first = track(limiter.acquire('s', req(10)));
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    const second = track(limiter.acquire('s', req(10)));
    (first.value as Permit).settle({ kind: 'rejected' }); // gives back while `second` is reserving
    store.answer({ kind: 'wait', waitMs: 5000, reason: 'inputTokens' });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.reserves).toHaveLength(1);
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(second.state).toBe('resolved');
    expect(store.adjusts).toContainEqual([1, 10, 0]);
  });

  it('gives back a reservation whose waiter aborted meanwhile', async () => {
    const { store, limiter } = setup();
    const ac = new AbortController();
    const a = track(limiter.acquire('s', req(10), { signal: ac.signal }));
    expect(store.reserves).toHaveLength(1);
    ac.abort(new Error('bye'));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('rejected');
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.adjusts).toEqual([[1, 10, 0]]);
    expect(limiter.snapshot().s?.inFlight).toBe(0);
  });

  it("'local': a failing store falls back at once, then returns when a probe answers", async () => {
    const { store, limiter, events } = setup();
    const a = track(limiter.acquire('s', req(10)));
    store.reserves.shift()?.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('resolved'); // served from the local buckets
    expect(events).toContainEqual({ type: 'redisError', message: 'Error: ECONNRESET' });
    expect(limiter.acquire('s', req(10))).not.toBeInstanceOf(Promise); // local fast path meanwhile
    await vi.advanceTimersByTimeAsync(300);
    expect(store.pings).toBeGreaterThan(0);
    store.pingOk = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(events.at(-1)).toEqual({ type: 'redisRecovered' });
    const b = limiter.acquire('s', req(10));
    expect(b).toBeInstanceOf(Promise);
    expect(store.reserves).toHaveLength(1);
  });

  it("a store that is 'down' is not even asked, and one that throws synchronously does not wedge the scope", async () => {
    const { store, limiter, events } = setup();
    store.state = 'down';
    expect(limiter.acquire('s', req(10))).not.toBeInstanceOf(Promise);
    expect(events.some((e) => e.type === 'redisError')).toBe(true);

    const other = setup();
    other.store.throwOnReserve = true;
    const a = track(other.limiter.acquire('s', req(10)));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('resolved');
    expect(other.events.some((e) => e.type === 'redisError')).toBe(true);
  });

  it("'fail': waiting and new calls are refused with RateLimitStoreUnavailableError until the store answers", async () => {
    const { store, limiter } = setup({ onRedisError: 'fail' });
    const a = track(limiter.acquire('s', req(10)));
    const b = track(limiter.acquire('s', req(10)));
    store.reserves.shift()?.reject(new Error('down'));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.error).toBeInstanceOf(RateLimitStoreUnavailableError);
    expect(b.error).toBeInstanceOf(RateLimitStoreUnavailableError);
    expect((a.error as RateLimitStoreUnavailableError).lastError).toEqual(new Error('down'));
    expect(() => limiter.acquire('s', req(10))).toThrow(RateLimitStoreUnavailableError);
    store.pingOk = true;
    await vi.advanceTimersByTimeAsync(100);
    const c = track(limiter.acquire('s', req(10)));
    store.answer({ kind: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.state).toBe('resolved');
  });

  it('a scope with nothing to account (auto, before headers) never touches the store', () => {
    const store = new FakeStore();
    const limiter = new RateLimiter({ mode: 'auto', store, now: () => Date.now() });
    expect(limiter.acquire('s', req(10))).not.toBeInstanceOf(Promise);
    expect(store.reserves).toHaveLength(0);
  });
});
