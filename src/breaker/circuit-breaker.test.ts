import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitOpenError } from '../errors/circuit-open-error';
import type { BreakerStateChangeEvent } from '../events';
import { seededRandom } from '../keys/strategies';
import { CircuitBreaker, type BreakerTicket, type CircuitBreakerConfig } from './circuit-breaker';

const DEFAULTS: CircuitBreakerConfig = {
  failureRatio: 0.9,
  sampleSize: 20,
  minimumAttempts: 10,
  sampleWindowMs: 10_000,
  probeAfterMs: 500,
  maxProbeAfterMs: 2_000,
  whenOpen: 'wait',
  maxWaitMs: 30_000,
  maxWaiting: 1_000,
};

let clock = 0;
let changes: BreakerStateChangeEvent[] = [];
function make(config: Partial<CircuitBreakerConfig> = {}): CircuitBreaker {
  changes = [];
  return new CircuitBreaker('s', { ...DEFAULTS, ...config }, (e) => changes.push(e), () => clock);
}

/** Admits an attempt that must not wait (the breaker is closed or a probe may go). */
function admitNow(breaker: CircuitBreaker): BreakerTicket {
  const ticket = breaker.admit();
  if (ticket instanceof Promise) throw new Error('expected an immediate admission');
  return ticket;
}

function fail(breaker: CircuitBreaker, times = 1): void {
  for (let i = 0; i < times; i++) breaker.report(admitNow(breaker), 'unhealthy');
}

beforeEach(() => {
  clock = 1_000_000;
  vi.useFakeTimers({ now: clock });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Advances both the breaker's clock and the timers. */
async function advance(ms: number): Promise<void> {
  clock += ms;
  await vi.advanceTimersByTimeAsync(ms);
}

describe('CircuitBreaker: when it opens', () => {
  it('stays closed below minimumAttempts, opens once the ratio is reached with enough attempts', () => {
    const breaker = make();
    fail(breaker, 9);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([{ scope: 's', from: 'closed', to: 'open', at: clock, retryAfterMs: 500 }]);
  });

  it('needs 18 failures among the last 20 after a run of successes: a dead service is seen within ~18 attempts', () => {
    const breaker = make();
    for (let i = 0; i < 50; i++) breaker.report(admitNow(breaker), 'healthy');
    fail(breaker, 17);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('never opens on scattered faults: 30 % health failures over 200,000 attempts (5 seeds)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const random = seededRandom(seed);
      const breaker = make();
      for (let i = 0; i < 40_000; i++) {
        clock += 5;
        breaker.report(admitNow(breaker), random() < 0.3 ? 'unhealthy' : 'healthy');
      }
      expect(breaker.state).toBe('closed');
    }
  });

  it('forgets attempts older than sampleWindowMs', () => {
    const breaker = make();
    fail(breaker, 9);
    clock += 10_001;
    fail(breaker, 9);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ windowAttempts: 9, windowFailures: 9 });
  });

  it('"unknown" verdicts (aborts, local refusals) do not count either way', () => {
    const breaker = make();
    for (let i = 0; i < 30; i++) breaker.report(admitNow(breaker), 'unknown');
    expect(breaker.snapshot()).toMatchObject({ windowAttempts: 0 });
  });
});

describe('CircuitBreaker: probing', () => {
  it('lets one probe through after probeAfterMs; its success closes the breaker and forgets the failures', () => {
    const breaker = make();
    fail(breaker, 10);
    expect(breaker.retryAfterMs()).toBe(500);
    clock += 500;
    const probe = admitNow(breaker);
    expect(probe.probe).toBe(true);
    expect(breaker.state).toBe('halfOpen');
    breaker.report(probe, 'healthy');
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ windowAttempts: 0 });
    expect(changes.map((c) => c.to)).toEqual(['open', 'halfOpen', 'closed']);
  });

  it('each failed probe doubles the pause, up to maxProbeAfterMs; a success resets it', () => {
    const breaker = make({ whenOpen: 'fail' });
    fail(breaker, 10);
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      pauses.push(breaker.retryAfterMs());
      clock += breaker.retryAfterMs();
      breaker.report(admitNow(breaker), 'unhealthy');
    }
    expect(pauses).toEqual([500, 1_000, 2_000, 2_000, 2_000]);
    clock += breaker.retryAfterMs();
    breaker.report(admitNow(breaker), 'healthy');
    fail(breaker, 10);
    expect(breaker.retryAfterMs()).toBe(500);
  });

  it('a probe that ends without a verdict lets the next call probe at once', () => {
    const breaker = make({ whenOpen: 'fail' });
    fail(breaker, 10);
    clock += 500;
    breaker.report(admitNow(breaker), 'unknown');
    expect(breaker.state).toBe('open');
    expect(admitNow(breaker).probe).toBe(true);
  });

  it('outcomes of attempts admitted before it opened are ignored while open', () => {
    const breaker = make({ whenOpen: 'fail' });
    const early = admitNow(breaker);
    fail(breaker, 10);
    breaker.report(early, 'healthy');
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker: calls while open', () => {
  it("whenOpen 'fail': refuses at once with CircuitOpenError carrying retryAfterMs", () => {
    const breaker = make({ whenOpen: 'fail' });
    fail(breaker, 10);
    clock += 100;
    let error: unknown;
    try {
      breaker.admit();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterMs).toBe(400);
  });

  it("whenOpen 'wait': calls wait; the first becomes the probe when it is due, the rest go when it succeeds", async () => {
    const breaker = make();
    fail(breaker, 10);
    const waiting = [breaker.admit(), breaker.admit(), breaker.admit()] as Promise<BreakerTicket>[];
    expect(waiting.every((w) => w instanceof Promise)).toBe(true);
    expect(breaker.snapshot().waiting).toBe(3);
    await advance(500);
    const probe = await waiting[0]!;
    expect(probe.probe).toBe(true);
    let released = 0;
    void Promise.all(waiting.slice(1)).then(() => (released = 2));
    await advance(0);
    expect(released).toBe(0);
    breaker.report(probe, 'healthy');
    await advance(0);
    expect(released).toBe(2);
    expect((await waiting[1]!).probe).toBe(false);
  });

  it('a failed probe keeps the others waiting; the next waiter probes after the doubled pause', async () => {
    const breaker = make();
    fail(breaker, 10);
    const first = breaker.admit() as Promise<BreakerTicket>;
    const second = breaker.admit() as Promise<BreakerTicket>;
    await advance(500);
    breaker.report(await first, 'unhealthy');
    expect(breaker.retryAfterMs()).toBe(1_000);
    let probed = false;
    void second.then((t) => (probed = t.probe));
    await advance(999);
    expect(probed).toBe(false);
    await advance(1);
    expect(probed).toBe(true);
  });

  it('a wait is bounded by maxWaitMs, then CircuitOpenError', async () => {
    const breaker = make({ maxWaitMs: 300, probeAfterMs: 5_000, maxProbeAfterMs: 5_000 });
    fail(breaker, 10);
    const waiting = breaker.admit() as Promise<BreakerTicket>;
    const settled = waiting.catch((e: unknown) => e);
    await advance(300);
    expect(await settled).toBeInstanceOf(CircuitOpenError);
    expect(breaker.snapshot().waiting).toBe(0);
  });

  it('a call whose deadline comes before the next probe fails at once', () => {
    const breaker = make();
    fail(breaker, 10);
    expect(() => breaker.admit({ remainingMs: 200 })).toThrow(CircuitOpenError);
  });

  it('aborting a waiting call rejects it with the signal reason and frees its place', async () => {
    const breaker = make();
    fail(breaker, 10);
    const controller = new AbortController();
    const waiting = (breaker.admit({ signal: controller.signal }) as Promise<BreakerTicket>).catch((e: unknown) => e);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    expect(breaker.snapshot().waiting).toBe(0);
  });

  it('beyond maxWaiting, calls fail at once; failFast callers never wait', () => {
    const breaker = make({ maxWaiting: 2 });
    fail(breaker, 10);
    void (breaker.admit() as Promise<BreakerTicket>).catch(() => undefined);
    void (breaker.admit() as Promise<BreakerTicket>).catch(() => undefined);
    expect(() => breaker.admit()).toThrow(CircuitOpenError);
    expect(() => make().admit({ failFast: true })).not.toThrow();
    const open = make();
    fail(open, 10);
    expect(() => open.admit({ failFast: true })).toThrow(CircuitOpenError);
    breaker.shutdown();
  });

  it('keeps no timer while nothing waits, and one while calls do', async () => {
    const breaker = make();
    fail(breaker, 10);
    expect(vi.getTimerCount()).toBe(0);
    const waiting = breaker.admit() as Promise<BreakerTicket>;
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await advance(500);
    breaker.report(await waiting, 'healthy');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a probe that never answers stops blocking after 10 s: the next waiter probes', async () => {
    const breaker = make();
    fail(breaker, 10);
    const first = breaker.admit() as Promise<BreakerTicket>;
    const second = breaker.admit() as Promise<BreakerTicket>;
    await advance(500);
    expect((await first).probe).toBe(true);
    let probed = false;
    void second.then((t) => (probed = t.probe));
    await advance(9_999);
    expect(probed).toBe(false);
    await advance(1);
    expect(probed).toBe(true);
  });
});
