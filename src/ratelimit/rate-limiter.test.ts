import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../errors/config-error';
import { RateLimitCapacityError } from '../errors/rate-limit-capacity-error';
import { RateLimitQueueFullError } from '../errors/rate-limit-queue-full-error';
import { RateLimitWaitExceededError } from '../errors/rate-limit-wait-exceeded-error';
import { RateLimiterClosedError } from './errors';
import { RateLimiter } from './rate-limiter';
import { type RateLimiterOptions } from './options';
import { type Demand, type Permit, type RateLimitEvent } from './types';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const req = (inputTokens = 0, outputTokens = 0): Demand => ({ requests: 1, inputTokens, outputTokens });

function limiter(opts: Partial<RateLimiterOptions> = {}, events?: RateLimitEvent[]): RateLimiter {
  return new RateLimiter({
    mode: 'explicit',
    now: () => Date.now(),
    onEvent: events ? (e) => events.push(e) : undefined,
    ...opts,
  });
}

/** Track a promise's outcome without awaiting it. */
function track<T>(p: Promise<T> | T): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  Promise.resolve(p).then(
    (v) => {
      t.state = 'resolved';
      t.value = v;
    },
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e;
    },
  );
  return t;
}

type Triple = [limit: number, remaining: number, resetInMs: number];
function rlHeaders(
  now: number,
  b: { requests?: Triple; input?: Triple; output?: Triple; tokens?: Triple },
  extra: Record<string, string> = {},
): Headers {
  const h = new Headers(extra);
  const put = (name: string, t: Triple | undefined): void => {
    if (!t) return;
    h.set(`anthropic-ratelimit-${name}-limit`, String(t[0]));
    h.set(`anthropic-ratelimit-${name}-remaining`, String(t[1]));
    h.set(`anthropic-ratelimit-${name}-reset`, new Date(now + t[2]).toISOString());
  };
  put('requests', b.requests);
  put('input-tokens', b.input);
  put('output-tokens', b.output);
  put('tokens', b.tokens);
  return h;
}

const snap = (l: RateLimiter, scope = 's') => {
  const s = l.snapshot()[scope];
  if (!s) throw new Error(`no scope ${scope}`);
  return s;
};

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('fast path', () => {
  it('returns a Permit synchronously (not a thenable) when capacity is there', () => {
    const l = limiter({ limits: { rpm: 10, itpm: 1000, otpm: 1000 } });
    const p = l.acquire('s', req(100, 100));
    expect(p).not.toBeInstanceOf(Promise);
    expect((p as unknown as { then?: unknown }).then).toBeUndefined();
    const permit = p as Permit;
    expect(permit.scope).toBe('s');
    expect(permit.waitedMs).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    const s = snap(l);
    expect(s.inFlight).toBe(1);
    expect(s.dimensions.requests.available).toBe(9);
    expect(s.dimensions.inputTokens.available).toBe(900);
  });

  it('does not jump the queue: an equal-priority call waits behind a waiting one', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    l.acquire('s', req(900));
    const big = track(l.acquire('s', req(500)));
    const small = l.acquire('s', req(50));
    expect(small).toBeInstanceOf(Promise);
    expect(big.state).toBe('pending');
    void (small as Promise<Permit>).catch(() => undefined);
    void l.close();
  });

  it('lets a strictly higher priority take free capacity at once', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    l.acquire('s', req(900));
    track(l.acquire('s', req(500)));
    const urgent = l.acquire('s', req(50), { priority: 5 });
    expect(urgent).not.toBeInstanceOf(Promise);
    void l.close().catch(() => undefined);
  });
});

describe('refusals decided at once', () => {
  it('rejects a demand larger than a bucket with RateLimitCapacityError, never queued', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    let err: unknown;
    try {
      l.acquire('s', req(1001));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitCapacityError);
    expect(err).toMatchObject({ scope: 's', dimension: 'inputTokens', requested: 1001, capacity: 1000, code: 'RATE_LIMIT_CAPACITY' });
    expect(snap(l).queueDepth).toBe(0);
  });

  it('rejects with RateLimitQueueFullError when maxQueue calls wait', () => {
    const l = limiter({ limits: { rpm: 1 }, maxQueue: 2 });
    l.acquire('s', req());
    const a = track(l.acquire('s', req()));
    const b = track(l.acquire('s', req()));
    let err: unknown;
    try {
      l.acquire('s', req());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitQueueFullError);
    expect(err).toMatchObject({ scope: 's', queueDepth: 2, maxQueue: 2 });
    // The head waits for one request token at 1/min: ~60 s.
    expect((err as RateLimitQueueFullError).retryAfterMs).toBe(60_000);
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    void l.close();
  });

  it('maxWaitMs 0 means "only if free now": throws at once', () => {
    const l = limiter({ limits: { rpm: 1 } });
    l.acquire('s', req());
    expect(() => l.acquire('s', req(), { maxWaitMs: 0 })).toThrow(RateLimitWaitExceededError);
  });

  it('an already-aborted signal throws its reason', () => {
    const l = limiter({ limits: { rpm: 10 } });
    const reason = new Error('caller gave up');
    expect(() => l.acquire('s', req(), { signal: AbortSignal.abort(reason) })).toThrow(reason);
    expect(l.snapshot().s?.inFlight ?? 0).toBe(0);
  });

  it('validates demands', () => {
    const l = limiter();
    expect(() => l.acquire('s', { requests: 1, inputTokens: Number.NaN, outputTokens: 0 })).toThrow(RangeError);
    expect(() => l.acquire('s', { requests: -1, inputTokens: 0, outputTokens: 0 })).toThrow(RangeError);
  });
});

describe('waiting', () => {
  it('admits a waiter exactly when the bucket has refilled enough', async () => {
    const l = limiter({ limits: { rpm: 60 } }); // 1 request per second
    for (let i = 0; i < 60; i++) l.acquire('s', req());
    const w = track(l.acquire('s', req()));
    await vi.advanceTimersByTimeAsync(999);
    expect(w.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(w.state).toBe('resolved');
    expect((w.value as Permit).waitedMs).toBe(1000);
  });

  it('rejects with RateLimitWaitExceededError when maxWaitMs passes', async () => {
    const l = limiter({ limits: { rpm: 60 }, maxWaitMs: 500 });
    for (let i = 0; i < 60; i++) l.acquire('s', req());
    const w = track(l.acquire('s', req()));
    await vi.advanceTimersByTimeAsync(499);
    expect(w.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(w.state).toBe('rejected');
    expect(w.error).toBeInstanceOf(RateLimitWaitExceededError);
    expect(w.error).toMatchObject({ scope: 's', waitingFor: 'requests', waitedMs: 500, maxWaitMs: 500, retryAfterMs: 500 });
    expect(snap(l).queueDepth).toBe(0);
  });

  it('serves waiters by priority, then arrival', async () => {
    const l = limiter({ limits: { rpm: 60 } });
    for (let i = 0; i < 60; i++) l.acquire('s', req());
    const order: string[] = [];
    const mk = (name: string, priority: number): void => {
      void (l.acquire('s', req(), { priority }) as Promise<Permit>).then(() => order.push(name));
    };
    mk('low1', 0);
    mk('high', 2);
    mk('low2', 0);
    mk('mid', 1);
    await vi.advanceTimersByTimeAsync(4000);
    expect(order).toEqual(['high', 'mid', 'low1', 'low2']);
  });

  it('keeps at most one timer per scope, however many wait', () => {
    const l = limiter({ limits: { rpm: 60 }, maxWaitMs: 100_000 });
    for (let i = 0; i < 60; i++) l.acquire('s', req());
    for (let i = 0; i < 50; i++) track(l.acquire('s', req(), { maxWaitMs: 1000 + i }));
    expect(vi.getTimerCount()).toBe(1);
    void l.close();
  });

  it('gates in-flight calls with maxConcurrent and admits the next on settle', async () => {
    const l = limiter({ maxConcurrent: 2 });
    const a = l.acquire('s', req()) as Permit;
    l.acquire('s', req());
    const c = track(l.acquire('s', req()));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.state).toBe('pending');
    a.settle({ kind: 'served', actual: { inputTokens: 0, outputTokens: 0 } });
    await Promise.resolve();
    expect(c.state).toBe('resolved');
  });

  it('abort: the waiter leaves at once with signal.reason, and its reservation is never taken', async () => {
    const l = limiter({ limits: { itpm: 1000 } });
    l.acquire('s', req(900));
    const ac = new AbortController();
    const big = track(l.acquire('s', req(500), { signal: ac.signal }));
    const small = track(l.acquire('s', req(50)));
    await Promise.resolve();
    expect(small.state).toBe('pending'); // FIFO behind the big one
    const reason = new Error('user aborted');
    ac.abort(reason);
    await Promise.resolve();
    await Promise.resolve();
    expect(big.state).toBe('rejected');
    expect(big.error).toBe(reason);
    expect(small.state).toBe('resolved');
    const s = snap(l);
    expect(s.queueDepth).toBe(0);
    expect(s.inFlight).toBe(2);
    expect(s.dimensions.inputTokens.available).toBeCloseTo(50, 6);
  });

  it('abort frees a concurrency slot for the next waiter', async () => {
    const l = limiter({ maxConcurrent: 1 });
    const first = l.acquire('s', req()) as Permit;
    const ac = new AbortController();
    const b = track(l.acquire('s', req(), { signal: ac.signal }));
    const c = track(l.acquire('s', req()));
    ac.abort();
    first.settle({ kind: 'rejected' });
    await Promise.resolve();
    await Promise.resolve();
    expect(b.state).toBe('rejected');
    expect((b.error as Error).name).toBe('AbortError');
    expect(c.state).toBe('resolved');
  });

  it('pause blocks everyone in the scope until then', async () => {
    const events: RateLimitEvent[] = [];
    const l = limiter({ limits: { rpm: 100 } }, events);
    l.pause('s', T0 + 5000);
    const a = track(l.acquire('s', req()));
    const b = track(l.acquire('s', req(), { priority: 9 }));
    await vi.advanceTimersByTimeAsync(4999);
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
    expect(events).toContainEqual({ type: 'paused', scope: 's', untilMs: T0 + 5000 });
    expect(events.some((e) => e.type === 'rateLimited' && e.dimension === 'pause')).toBe(true);
    // Another scope is not affected.
    expect(l.acquire('other', req())).not.toBeInstanceOf(Promise);
  });

  it('a 429 with retry-after pauses the scope via observe', async () => {
    const l = limiter();
    l.observe('s', new Headers({ 'retry-after': '3' }), 429);
    expect(snap(l).pausedUntil).toBe(T0 + 3000);
    const a = track(l.acquire('s', req()));
    await vi.advanceTimersByTimeAsync(2999);
    expect(a.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(a.state).toBe('resolved');
  });

  it('a pause longer than maxWaitMs is refused at once', () => {
    const l = limiter({ maxWaitMs: 1000 });
    l.pause('s', T0 + 5000);
    let err: unknown;
    try {
      l.acquire('s', req());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitWaitExceededError);
    expect(err).toMatchObject({ waitingFor: 'pause', retryAfterMs: 5000 });
  });

  it('close rejects waiting calls with a clear error and refuses new ones', async () => {
    const l = limiter({ limits: { rpm: 1 } });
    l.acquire('s', req());
    const w = track(l.acquire('s', req()));
    await l.close();
    expect(w.state).toBe('rejected');
    expect(w.error).toBeInstanceOf(RateLimiterClosedError);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => l.acquire('s', req())).toThrow(RateLimiterClosedError);
  });

  it('emits rateLimited with the blocking dimension and expected wait', () => {
    const events: RateLimitEvent[] = [];
    const l = limiter({ limits: { otpm: 6000 } }, events);
    l.acquire('s', req(0, 6000));
    track(l.acquire('s', req(0, 100)));
    expect(events).toContainEqual({ type: 'rateLimited', scope: 's', dimension: 'outputTokens', waitMs: 1000 });
    void l.close();
  });

  it('a throwing onEvent listener does not break admission', () => {
    const l = new RateLimiter({
      mode: 'explicit',
      now: () => Date.now(),
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(() => l.pause('s', T0 + 10)).not.toThrow();
  });
});

describe('settle', () => {
  it('served: refunds an over-reservation and charges an under-reservation (debt)', async () => {
    const l = limiter({ limits: { itpm: 60_000, otpm: 60_000 } }); // 1000 per second
    const p = l.acquire('s', req(5000, 4000)) as Permit;
    p.settle({ kind: 'served', actual: { inputTokens: 2000, outputTokens: 500 } });
    expect(snap(l).dimensions.inputTokens.available).toBe(58_000);
    expect(snap(l).dimensions.outputTokens.available).toBe(59_500);

    const q = l.acquire('s', req(1000, 0)) as Permit;
    q.settle({ kind: 'served', actual: { inputTokens: 70_000, outputTokens: 0 } });
    expect(snap(l).dimensions.inputTokens.available).toBe(-12_000); // debt
    const next = track(l.acquire('s', req(1000)));
    await vi.advanceTimersByTimeAsync(12_999);
    expect(next.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(next.state).toBe('resolved');
  });

  it('rejected: gives everything back', () => {
    const l = limiter({ limits: { rpm: 10, itpm: 1000, otpm: 1000 } });
    const p = l.acquire('s', req(300, 400)) as Permit;
    p.settle({ kind: 'rejected' });
    const d = snap(l).dimensions;
    expect([d.requests.available, d.inputTokens.available, d.outputTokens.available]).toEqual([10, 1000, 1000]);
    expect(snap(l).inFlight).toBe(0);
  });

  it('failed: keeps the request and input, gives back the output reservation', () => {
    const l = limiter({ limits: { rpm: 10, itpm: 1000, otpm: 1000 } });
    const p = l.acquire('s', req(300, 400)) as Permit;
    p.settle({ kind: 'failed' });
    const d = snap(l).dimensions;
    expect([d.requests.available, d.inputTokens.available, d.outputTokens.available]).toEqual([9, 700, 1000]);
    const q = l.acquire('s', req(100, 400)) as Permit;
    q.settle({ kind: 'failed', actual: { outputTokens: 50 } });
    expect(snap(l).dimensions.outputTokens.available).toBe(950);
  });

  it('is exactly once: a second settle is ignored', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    const p = l.acquire('s', req(300)) as Permit;
    p.settle({ kind: 'rejected' });
    p.settle({ kind: 'rejected' });
    expect(snap(l).dimensions.inputTokens.available).toBe(1000);
  });
});

describe('header learning', () => {
  it("'auto': at most startupConcurrency in flight before the first headers, no token accounting", async () => {
    const l = limiter({ mode: 'auto', startupConcurrency: 2 });
    const a = l.acquire('s', req(1e9, 1e9)) as Permit; // no accounting yet: any size passes
    l.acquire('s', req(1000, 1000));
    const c = track(l.acquire('s', req(10, 10)));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.state).toBe('pending');
    expect(snap(l).concurrencyLimit).toBe(2);
    expect(snap(l).dimensions.inputTokens.capacity).toBe(Infinity);
    l.observe('s', rlHeaders(T0, { requests: [50, 48, 2400], input: [40_000, 39_000, 1500], output: [8000, 8000, 0] }), 200, a);
    await Promise.resolve();
    expect(c.state).toBe('resolved');
    const s = snap(l);
    expect(s.learned).toBe(true);
    expect(s.concurrencyLimit).toBe(Infinity);
    expect(s.dimensions.requests).toMatchObject({ capacity: 50, known: true });
    expect(s.dimensions.inputTokens.capacity).toBe(40_000);
  });

  it("'auto' behind a proxy that strips the headers: after 3 header-less successes the start-up cap is lifted, once", async () => {
    const events: RateLimitEvent[] = [];
    const l = limiter({ mode: 'auto', startupConcurrency: 2 }, events);
    const first = [l.acquire('s', req(10, 10)) as Permit, l.acquire('s', req(10, 10)) as Permit];
    const waiting = track(l.acquire('s', req(10, 10)));
    const bare = new Headers({ 'content-type': 'application/json' });
    for (const permit of first) {
      permit.settle({ kind: 'served', actual: { inputTokens: 10, outputTokens: 10 } });
      l.observe('s', bare, 200, permit);
    }
    await Promise.resolve();
    expect(waiting.state).toBe('resolved');
    expect(snap(l).concurrencyLimit).toBe(2);
    l.observe('s', bare, 429); // not a success: does not count
    expect(snap(l).concurrencyLimit).toBe(2);
    l.observe('s', bare, 200);
    expect(snap(l)).toMatchObject({ learned: false, concurrencyLimit: Infinity });
    for (let i = 0; i < 10; i++) l.acquire('s', req(10, 10));
    l.observe('s', bare, 200);
    expect(events.filter((e) => e.type === 'headersMissing')).toEqual([{ type: 'headersMissing', scope: 's', responses: 3 }]);
  });

  it('takes capacity from -limit and never lets the level exceed -remaining', () => {
    const events: RateLimitEvent[] = [];
    const l = limiter({}, events);
    l.observe('s', rlHeaders(T0, { output: [8000, 5000, 25_000] }), 200);
    const d = snap(l).dimensions.outputTokens;
    expect(d.capacity).toBe(8000);
    expect(d.available).toBe(5000);
    expect(events.find((e) => e.type === 'limitsLearned')).toMatchObject({ scope: 's', limits: { outputTokens: { capacity: 8000 } } });
  });

  it('rounded remaining: a multiple of 1000 on a large bucket is not trusted for the rate', () => {
    const l = limiter();
    // 400k ITPM, "399000" left (rounded down), full again in 0.15 s: the deficit is mostly rounding.
    l.observe('s', rlHeaders(T0, { input: [400_000, 399_000, 150] }), 200);
    const d = snap(l).dimensions.inputTokens;
    expect(d.capacity).toBe(400_000);
    expect(d.available).toBe(399_000);
    expect(d.refillPerSec).toBeCloseTo(400_000 / 60, 6); // kept the per-minute default
  });

  it('derives the refill rate from (limit − remaining) / (reset − now)', () => {
    const l = limiter();
    // 600 missing, full again in 30 s (ms-precision reset): 20 per second, not 1000/60 = 16.7.
    l.observe('s', rlHeaders(T0, { requests: [1000, 400, 30_000] }), 200);
    const d = snap(l).dimensions.requests;
    // The conservative end of the sample's interval: (600 − 1) / 30 s.
    expect(d.refillPerSec).toBeCloseTo(599 / 30, 6);
  });

  it('keeps the current rate when a sample is consistent with it', () => {
    const l = limiter();
    // 1000 per minute: 600 missing refill in 36 s; reset rounded up to the second.
    const h = rlHeaders(T0, { requests: [1000, 400, 36_000] });
    h.set('anthropic-ratelimit-requests-reset', new Date(T0 + 36_000).toISOString().replace('.000Z', 'Z'));
    l.observe('s', h, 200);
    expect(snap(l).dimensions.requests.refillPerSec).toBeCloseTo(1000 / 60, 9);
  });

  it('uses the date header to cancel clock skew', () => {
    const skewed = Date.now() + 3_600_000; // the local clock is an hour ahead of the server
    const l = new RateLimiter({ mode: 'explicit', now: () => skewed });
    const server = T0;
    const h = rlHeaders(server, { requests: [1000, 400, 30_000] }, { date: new Date(server).toUTCString() });
    l.observe('s', h, 200);
    const d = l.snapshot().s!.dimensions.requests;
    // Without the date header the reset would look an hour in the past and teach nothing;
    // with it, 600 refill in ~30 s (±0.5 s for the date's 1 s precision) → conservative end.
    // serverNow ≈ date + 0.5 s, so reset − serverNow = 29.5 s ± 0.5 s → low end (600 − 1) / 30 s.
    expect(d.refillPerSec).toBeCloseTo(599 / 30, 6);
    expect(d.refillPerSec).toBeGreaterThan(1000 / 60);

    const noDate = new RateLimiter({ mode: 'explicit', now: () => skewed });
    noDate.observe('s', rlHeaders(server, { requests: [1000, 400, 30_000] }), 200);
    expect(noDate.snapshot().s!.dimensions.requests.refillPerSec).toBeCloseTo(1000 / 60, 9);
  });

  it('follows limits lowered and raised on the server mid-run', async () => {
    const l = limiter();
    l.observe('s', rlHeaders(T0, { input: [10_000, 10_000, 0] }), 200);
    const big = l.acquire('s', req(9000)) as Permit; // fits
    const waiting = track(l.acquire('s', req(6000))); // waits for refill
    // Server lowers ITPM to 5000: the waiting 6000 can never fit → rejected, not stranded.
    l.observe('s', rlHeaders(T0, { input: [5000, 1000, 48_000] }), 200, big);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.state).toBe('rejected');
    expect(waiting.error).toBeInstanceOf(RateLimitCapacityError);
    expect(snap(l).dimensions.inputTokens.capacity).toBe(5000);
    expect(() => l.acquire('s', req(6000))).toThrow(RateLimitCapacityError);
    big.settle({ kind: 'served', actual: { inputTokens: 9000, outputTokens: 0 } });
    // Raised to 20000: capacity follows, the level does not jump above what the server reports.
    l.observe('s', rlHeaders(T0, { input: [20_000, 3000, 51_000] }), 200, big);
    const d = snap(l).dimensions.inputTokens;
    expect(d.capacity).toBe(20_000);
    expect(d.available).toBeLessThanOrEqual(3000);
    const later = track(l.acquire('s', req(15_000))); // fits the new capacity: waits, not refused
    expect(() => l.acquire('s', req(25_000))).toThrow(RateLimitCapacityError);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(later.state).toBe('resolved');
  });

  it('a learned window scales with a changed limit', () => {
    const l = limiter();
    l.observe('s', rlHeaders(T0, { requests: [1000, 400, 30_000] }), 200); // learns a 50 s-ish window
    const r1 = snap(l).dimensions.requests.refillPerSec;
    l.observe('s', rlHeaders(T0, { requests: [2000, 2000, 0] }), 200); // full: no new sample
    expect(snap(l).dimensions.requests.refillPerSec).toBeCloseTo(r1 * 2, 6);
  });

  it('explicit ceilings cap what headers say; headers can lower them', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    l.observe('s', rlHeaders(T0, { input: [5000, 5000, 0] }), 200);
    expect(snap(l).dimensions.inputTokens).toMatchObject({ capacity: 1000, known: true });
    expect(snap(l).dimensions.inputTokens.refillPerSec).toBeCloseTo(1000 / 60, 9);
    l.observe('s', rlHeaders(T0, { input: [800, 800, 0] }), 200);
    expect(snap(l).dimensions.inputTokens.capacity).toBe(800);
  });

  it('in-flight rule: only reservations admitted after the observed permit are deducted', () => {
    const a = limiter({ limits: { itpm: 1000 } });
    const p1 = a.acquire('s', req(100)) as Permit;
    a.acquire('s', req(100));
    a.acquire('s', req(100));
    // Server saw p1 (and p2, p3 are unseen): remaining 900 → level ≤ 900 − 200.
    a.observe('s', rlHeaders(T0, { input: [1000, 900, 6000] }), 200, p1);
    expect(snap(a).dimensions.inputTokens.available).toBe(700);

    const b = limiter({ limits: { itpm: 1000 } });
    b.acquire('s', req(100));
    b.acquire('s', req(100));
    b.acquire('s', req(100));
    // Unlinked response: every in-flight reservation counts as unseen (conservative).
    b.observe('s', rlHeaders(T0, { input: [1000, 900, 6000] }), 200);
    expect(snap(b).dimensions.inputTokens.available).toBe(600);
  });

  it('the sync only lowers the level', () => {
    const l = limiter({ limits: { itpm: 1000 } });
    l.acquire('s', req(800));
    l.observe('s', rlHeaders(T0, { input: [1000, 1000, 0] }), 200, undefined);
    expect(snap(l).dimensions.inputTokens.available).toBe(200);
  });

  it('tokens-* stands in for a missing input or output dimension', () => {
    const l = limiter();
    l.observe('s', rlHeaders(T0, { requests: [50, 50, 0], tokens: [20_000, 12_000, 24_000] }), 200);
    const d = snap(l).dimensions;
    expect(d.inputTokens).toMatchObject({ capacity: 20_000, available: 12_000 });
    expect(d.outputTokens).toMatchObject({ capacity: 20_000, available: 12_000 });
    // With the specific headers present, tokens-* is ignored.
    const m = limiter();
    m.observe('s', rlHeaders(T0, { input: [40_000, 40_000, 0], output: [8000, 8000, 0], tokens: [8000, 8000, 0] }), 200);
    expect(snap(m).dimensions.inputTokens.capacity).toBe(40_000);
  });

  it('observe never throws, even on garbage', () => {
    const l = limiter();
    const h = new Headers({ 'anthropic-ratelimit-requests-limit': 'abc', 'anthropic-ratelimit-requests-remaining': '-5', date: 'nope' });
    expect(() => l.observe('s', h, 200)).not.toThrow();
    expect(() => l.observe('s', null as unknown as Headers, 200)).not.toThrow();
    expect(snap(l).learned).toBe(false);
  });
});

describe('options', () => {
  it('rejects invalid options with a ConfigError naming the option', () => {
    expect(() => new RateLimiter({ mode: 'sometimes' as 'auto' })).toThrow(ConfigError);
    expect(() => new RateLimiter({ mode: 'auto', maxQueue: -1 })).toThrow(/rateLimit\.maxQueue/);
    expect(() => new RateLimiter({ mode: 'auto', startupConcurrency: 0 })).toThrow(/rateLimit\.startupConcurrency/);
    expect(() => new RateLimiter({ mode: 'explicit', limits: { rpm: Number.NaN } })).toThrow(/rateLimit\.limits\.rpm/);
    expect(() => new RateLimiter({ mode: 'auto', onRedisError: 'retry' as 'local' })).toThrow(/onRedisError/);
  });
});
