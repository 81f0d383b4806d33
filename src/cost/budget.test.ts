import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../errors/budget-exceeded-error';
import { ConfigError } from '../errors/config-error';
import { BudgetManager, type BudgetWarning, type Reservation } from './budget';
import { formatFemto, usdToFemto } from './money';
import { DAY_MS } from './window';

const T0 = Date.UTC(2026, 10, 27, 10); // 2026-11-27T10:00Z

function clock(start = T0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

describe('BudgetManager (in memory)', () => {
  it('reserves synchronously, settles the actual cost and releases on failure', () => {
    const c = clock();
    const b = new BudgetManager({ limitUsd: 1, window: 'day', now: c.now });
    const r = b.reserve({ usd: '0.30' });
    expect(r).not.toBeInstanceOf(Promise);
    expect(b.state()).toMatchObject({ spentUsd: 0, reservedUsd: 0.3, remainingUsd: 0.7, windowStart: Date.UTC(2026, 10, 27), windowResetAt: Date.UTC(2026, 10, 28) });
    expect(b.settle(r, '0.125')).toBe(true);
    expect(b.state()).toMatchObject({ spentUsd: 0.125, reservedUsd: 0, remainingUsd: 0.875 });
    // exactly once
    expect(b.settle(r, '0.125')).toBe(false);
    expect(b.release(r)).toBe(false);
    const failed = b.reserve({ usd: 0.5 });
    expect(b.release(failed)).toBe(true);
    expect(b.settle(failed, 0.5)).toBe(false);
    expect(b.state()).toMatchObject({ spentUsd: 0.125, reservedUsd: 0 });
    expect(b.inFlight()).toBe(0);
  });

  it('refuses with BudgetExceededError carrying the facts, and without side effects', () => {
    const c = clock();
    const b = new BudgetManager({ limitUsd: 1, window: 'day', now: c.now });
    b.settle(b.reserve({ usd: '0.6' }), '0.6');
    const held = b.reserve({ usd: '0.3' });
    let error: unknown;
    try {
      b.reserve({ usd: '0.2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      scope: 'global',
      limitUsd: 1,
      spentUsd: 0.6,
      reservedUsd: 0.3,
      requestedUsd: 0.2,
      windowResetAt: Date.UTC(2026, 10, 28),
      retryAfterMs: Date.UTC(2026, 10, 28) - T0,
    });
    expect(String(error)).not.toMatch(/timed? ?out/i);
    expect(b.state()).toMatchObject({ spentUsd: 0.6, reservedUsd: 0.3 });
    // exactly fitting is allowed (spent + reserved + this == limit)
    expect(() => b.reserve({ usd: '0.1' })).not.toThrow();
    b.release(held);
  });

  it('isolates users: one user at its per-user limit does not block another', () => {
    const b = new BudgetManager({ limitUsd: 10, perUser: 1, window: 'day', now: clock().now });
    b.settle(b.reserve({ user: 'alice', usd: 1 }), 1);
    expect(() => b.reserve({ user: 'alice', usd: '0.01' })).toThrow(BudgetExceededError);
    try {
      b.reserve({ user: 'alice', usd: '0.01' });
    } catch (e) {
      expect(e).toMatchObject({ scope: 'user', user: 'alice', limitUsd: 1, spentUsd: 1 });
    }
    const r = b.reserve({ user: 'bob', usd: 1 });
    expect(b.state('bob').user).toMatchObject({ user: 'bob', reservedUsd: 1, remainingUsd: 0 });
    expect(b.state('alice').user).toMatchObject({ spentUsd: 1, remainingUsd: 0 });
    // caller-controlled user ids never reach the message (the SDK retries errors that read like timeouts)
    b.settle(b.reserve({ user: 'timed out bot', usd: 1 }), 1);
    const e = (() => {
      try {
        b.reserve({ user: 'timed out bot', usd: '0.5' });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toMatchObject({ name: 'BudgetExceededError', user: 'timed out bot' });
    expect(String(e)).not.toMatch(/timed? ?out/i);
    // calls without a user count only globally
    expect(() => b.reserve({ usd: 5 })).not.toThrow();
    b.release(r);
  });

  it('fires budgetWarning once per window crossing, globally and per user', () => {
    const c = clock();
    const warnings: BudgetWarning[] = [];
    const b = new BudgetManager({ limitUsd: 10, perUser: 2, warnAt: 0.8, window: 'day', now: c.now, budgetWarning: (w) => warnings.push(w) });
    for (let i = 0; i < 5; i++) b.settle(b.reserve({ user: 'alice', usd: '0.4' }), '0.4'); // alice: 2.0 ≥ 1.6 at the 4th
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ scope: 'user', user: 'alice', limitUsd: 2, spentUsd: 1.6, warnAt: 0.8 });
    for (let i = 0; i < 10; i++) b.settle(b.reserve({ user: `u${i}`, usd: 1 }), '0.7'); // global 2 + 7 = 9 ≥ 8 once
    expect(warnings.filter((w) => w.scope === 'global')).toHaveLength(1);
    expect(warnings.filter((w) => w.scope === 'global')[0]).toMatchObject({ spentUsd: 8.3 });
    // next UTC day: a new window warns again
    c.set(T0 + DAY_MS);
    for (let i = 0; i < 4; i++) b.settle(b.reserve({ user: 'alice', usd: '0.4' }), '0.4');
    expect(warnings.filter((w) => w.user === 'alice')).toHaveLength(2);
  });

  it('a throwing warning listener never fails the settlement', () => {
    const b = new BudgetManager({
      limitUsd: 1,
      now: clock().now,
      budgetWarning: () => {
        throw new Error('listener bug');
      },
    });
    expect(b.settle(b.reserve({ usd: 1 }), 1)).toBe(true);
  });

  it('rolls over windows (day, month, fixed ms) and charges a late settlement to its own window', () => {
    const c = clock(Date.UTC(2026, 10, 30, 23, 59));
    const month = new BudgetManager({ limitUsd: 1, window: 'month', now: c.now });
    const late = month.reserve({ usd: 1 });
    expect(() => month.reserve({ usd: '0.01' })).toThrow(BudgetExceededError);
    c.set(Date.UTC(2026, 11, 1)); // December: a fresh window
    expect(month.state()).toMatchObject({ spentUsd: 0, reservedUsd: 0, windowStart: Date.UTC(2026, 11, 1), windowResetAt: Date.UTC(2027, 0, 1) });
    const dec = month.reserve({ usd: 1 });
    expect(month.settle(late, '0.9')).toBe(true); // charged to November
    expect(month.state()).toMatchObject({ spentUsd: 0, reservedUsd: 1 });
    month.release(dec);

    const fixed = new BudgetManager({ limitUsd: 1, window: 60_000, now: c.now });
    c.set(120_000 * 1000 + 59_999);
    fixed.settle(fixed.reserve({ usd: 1 }), 1);
    expect(fixed.state().windowResetAt).toBe(120_000 * 1000 + 60_000);
    c.set(120_000 * 1000 + 60_000);
    expect(() => fixed.settle(fixed.reserve({ usd: 1 }), 1)).not.toThrow();
  });

  it('charge() adds unreserved spend', () => {
    const b = new BudgetManager({ limitUsd: 1, perUser: 1, now: clock().now });
    b.charge('0.75', 'alice');
    expect(() => b.reserve({ user: 'alice', usd: '0.5' })).toThrow(BudgetExceededError);
    expect(b.spentFemto()).toBe(usdToFemto('0.75'));
  });

  it('validates options with ConfigError', () => {
    expect(() => new BudgetManager({ limitUsd: 0 })).toThrow(ConfigError);
    expect(() => new BudgetManager({ limitUsd: 1, window: 10 })).toThrow(ConfigError);
    expect(() => new BudgetManager({ limitUsd: 1, warnAt: 1.5 })).toThrow(ConfigError);
    expect(() => new BudgetManager({ limitUsd: 1, perUser: -1 })).toThrow(ConfigError);
  });
});

describe('BudgetManager under concurrency', () => {
  it('64 concurrent reservers against a budget of ~10 calls never settle more than the limit', async () => {
    const b = new BudgetManager({ limitUsd: 1, window: 'day', now: clock().now });
    let settled = 0n;
    let refused = 0;
    let succeeded = 0;
    const worker = async (i: number): Promise<void> => {
      let r: Reservation;
      try {
        r = b.reserve({ usd: '0.1' }); // worst case: 10 fit
      } catch (e) {
        expect(e).toBeInstanceOf(BudgetExceededError);
        refused++;
        return;
      }
      await new Promise((res) => setTimeout(res, i % 7)); // the "API call"
      if (i % 5 === 0) {
        b.release(r); // failed call
        return;
      }
      const actual = usdToFemto('0.0' + String(5 + (i % 5))); // 0.05..0.09 ≤ reservation
      b.settle(r, { exact: `0.0${5 + (i % 5)}` });
      settled += actual;
      succeeded++;
    };
    await Promise.all(Array.from({ length: 64 }, (_, i) => worker(i)));
    expect(settled).toBeLessThanOrEqual(usdToFemto(1));
    expect(b.spentFemto()).toBe(settled);
    expect(succeeded).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(b.state().reservedUsd).toBe(0);
  });

  it('holds for every interleaving fast-check explores (reserve / settle / release)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ worst: fc.integer({ min: 1, max: 40 }), actualPct: fc.integer({ min: 0, max: 100 }), fail: fc.boolean(), user: fc.constantFrom('a', 'b', undefined) }), {
          minLength: 1,
          maxLength: 64,
        }),
        async (s, calls) => {
          const b = new BudgetManager({ limitUsd: 1, perUser: 0.6, now: () => T0 });
          let settled = 0n;
          const perUser = new Map<string, bigint>();
          const done = Promise.all(
            calls.map(async (call) => {
              let r: Reservation;
              try {
                r = b.reserve({ user: call.user, usd: { exact: `0.${String(call.worst).padStart(2, '0')}` } });
              } catch {
                return;
              }
              await s.schedule(Promise.resolve());
              if (call.fail) {
                b.release(r);
                return;
              }
              const actual = (usdToFemto(r.exact) * BigInt(call.actualPct)) / 100n;
              b.settle(r, { exact: formatFemto(actual) });
              settled += actual;
              if (call.user) perUser.set(call.user, (perUser.get(call.user) ?? 0n) + actual);
            }),
          );
          await s.waitAll();
          await done;
          expect(settled).toBeLessThanOrEqual(usdToFemto(1));
          for (const v of perUser.values()) expect(v).toBeLessThanOrEqual(usdToFemto('0.6'));
          expect(b.spentFemto()).toBe(settled);
        },
      ),
      { numRuns: 200 },
    );
  });
});
