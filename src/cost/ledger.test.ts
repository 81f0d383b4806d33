import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/config-error';
import { CostLedger, OTHER_KEY } from './ledger';
import { formatFemto, parseExactUsd } from './money';
import { DAY_MS, HOUR_MS, MINUTE_MS, floorTo } from './window';

const T0 = Date.UTC(2026, 10, 1); // 2026-11-01T00:00Z

function clock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

describe('CostLedger windows (injected time)', () => {
  it('answers lifetime, minute-, hour- and day-precision windows', () => {
    const c = clock(T0);
    const ledger = new CostLedger({ now: c.now });
    // One call of $1 at T0, then at +10 days, +10 days +5 h, +10 days +6 h −90 s, and "now" (+10 days +6 h).
    const times = [T0, T0 + 10 * DAY_MS, T0 + 10 * DAY_MS + 5 * HOUR_MS, T0 + 10 * DAY_MS + 6 * HOUR_MS - 90_000];
    const now = T0 + 10 * DAY_MS + 6 * HOUR_MS;
    for (const at of times) {
      c.set(at);
      ledger.record({ at, model: 'claude-opus-5', user: 'u1', cost: '1' });
    }
    c.set(now);
    ledger.record({ at: now, model: 'claude-opus-5', cost: '1' });

    expect(ledger.summary()).toMatchObject({ exactUsd: '5', requests: 5, resolution: 'lifetime', windowStart: null });
    // Last 2 minutes (start now−120 s, within 6 h → minute buckets): the −90 s call and the "now" call.
    expect(ledger.summary({ sinceMs: now - 120_000 })).toMatchObject({ exactUsd: '2', resolution: 'minute', windowStart: now - 2 * MINUTE_MS });
    // Start 61 s ago rounds down to the minute bucket (now − 120 s .. ) : the window never counts less than asked.
    expect(ledger.summary({ sinceMs: now - 61_000 })).toMatchObject({ exactUsd: '2', windowStart: now - 2 * MINUTE_MS });
    // Last 2 hours (minute precision, 2 h < 6 h): the calls at now − 1 h, now − 90 s and now → 3.
    expect(ledger.summary({ sinceMs: now - 2 * HOUR_MS })).toMatchObject({ exactUsd: '3', resolution: 'minute' });
    // Last 7 hours (> 6 h → hour buckets; start = day 10 − 1 h): day 10 00:00, +5 h, −90 s, now → 4.
    expect(ledger.summary({ sinceMs: now - 7 * HOUR_MS })).toMatchObject({ exactUsd: '4', resolution: 'hour', windowStart: now - 7 * HOUR_MS });
    // Last 5 days: hour precision (within 31 days): the 4 calls since day 10.
    expect(ledger.summary({ days: 5 })).toMatchObject({ exactUsd: '4', resolution: 'hour' });
    // Since before the first call: exact lifetime.
    expect(ledger.summary({ days: 30 })).toMatchObject({ exactUsd: '5', resolution: 'lifetime' });
    expect(ledger.byUser({ days: 5 })['u1']).toMatchObject({ exact: '3', requests: 3 });
    expect(ledger.total({ sinceMs: now - 120_000 })).toBe(2);
    expect(ledger.byModel()['claude-opus-5']!.requests).toBe(5);
  });

  it('drops old minute/hour buckets but keeps day precision and lifetime totals', () => {
    const c = clock(T0);
    const ledger = new CostLedger({ now: c.now });
    c.set(T0 + 3 * HOUR_MS);
    ledger.record({ at: T0 + 3 * HOUR_MS, model: 'm', cost: '0.5' });
    c.set(T0 + 5 * DAY_MS);
    ledger.record({ at: T0 + 5 * DAY_MS, model: 'm', cost: '0.25' });
    c.set(T0 + 60 * DAY_MS);
    ledger.record({ at: T0 + 60 * DAY_MS, model: 'm', cost: '0.125' });
    expect(ledger.stats().buckets).toEqual({ minute: 1, hour: 1, day: 3 });
    // 58 days back: beyond the hour horizon (31 d) → UTC-day precision.
    expect(ledger.summary({ sinceMs: T0 + 2 * DAY_MS + 7 * HOUR_MS })).toMatchObject({
      exactUsd: '0.375',
      resolution: 'day',
      windowStart: T0 + 2 * DAY_MS,
    });
    // Before the first call: exact lifetime.
    expect(ledger.summary({ sinceMs: T0 })).toMatchObject({ exactUsd: '0.875', resolution: 'lifetime' });
  });

  it('beyond the day horizon returns lifetime totals and says from when', () => {
    const c = clock(T0);
    const ledger = new CostLedger({ now: c.now, dayBuckets: 10 });
    ledger.record({ at: T0, model: 'm', cost: '1' });
    c.set(T0 + 100 * DAY_MS);
    ledger.record({ at: T0 + 100 * DAY_MS, model: 'm', cost: '1' });
    expect(ledger.summary({ sinceMs: T0 + 50 * DAY_MS })).toMatchObject({ exactUsd: '2', resolution: 'lifetime', windowStart: T0 });
  });

  it('clamps future times to now and validates queries and options', () => {
    const c = clock(T0);
    const ledger = new CostLedger({ now: c.now });
    ledger.record({ at: T0 + 365 * DAY_MS, model: 'm', cost: 1 });
    expect(ledger.summary({ sinceMs: T0 })).toMatchObject({ exactUsd: '1' });
    expect(() => ledger.summary({ days: -1 })).toThrow(RangeError);
    expect(() => ledger.record({ at: T0, model: 'm', cost: -1 })).toThrow(RangeError);
    expect(() => new CostLedger({ minuteBuckets: 0 })).toThrow(ConfigError);
  });

  it('folds names beyond the per-bucket caps into (other) without losing money', () => {
    const ledger = new CostLedger({
      now: () => T0,
      minuteCaps: { users: 2, tags: 1, models: 1 },
      hourCaps: { users: 2, tags: 1, models: 1 },
      dayCaps: { users: 2, tags: 1, models: 1 },
      lifetimeCaps: { users: 3, tags: 1, models: 1 },
    });
    for (let i = 0; i < 5; i++) ledger.record({ at: T0, model: `m${i}`, user: `u${i}`, tags: ['a', `t${i}`], cost: '0.1' });
    const s = ledger.summary({ sinceMs: T0 + 1 }); // minute bucket (T0 + 1 is after the first call)
    expect(s.resolution).toBe('minute');
    expect(Object.keys(s.byUser)).toEqual(['u0', 'u1', OTHER_KEY]);
    expect(s.byUser[OTHER_KEY]).toMatchObject({ exact: '0.3', requests: 3 });
    expect(Object.keys(ledger.summary().byUser)).toEqual(['u0', 'u1', 'u2', OTHER_KEY]);
    expect(s.byModel[OTHER_KEY]!.requests).toBe(4);
    expect(s.byTag['a']).toMatchObject({ exact: '0.5', requests: 5 });
    expect(s.exactUsd).toBe('0.5');
  });
});

describe('CostLedger memory bound', () => {
  it('100k calls (5,000 users, 300 tags, 30 days of minutes): bounded structure and heap, exact totals', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const c = clock(T0);
    gc();
    const before = process.memoryUsage().heapUsed;
    const ledger = new CostLedger({ now: c.now });
    const models = ['claude-opus-5', 'claude-sonnet-5-5', 'claude-haiku-4-5', 'claude-fable-5-1', 'claude-haiku-5-5'];
    let exact = 0n;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const at = T0 + i * 26_000; // ≈ 2.3 calls per minute over 30 days
      c.set(at);
      const femto = BigInt(1 + (i % 997)) * 1_234_567n; // varied exact costs
      exact += femto;
      ledger.record({
        at,
        model: models[i % models.length]!,
        user: `user-${(i * 7919) % 5000}`,
        tags: [`tag-${i % 300}`],
        inputTokens: 1000,
        outputTokens: 100,
        cost: formatFemto(femto),
      });
    }
    gc();
    const growthMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    const stats = ledger.stats();
    const s = ledger.summary();
    console.log(`ledger after ${N} calls: ${JSON.stringify(stats)}; heap growth ${growthMb.toFixed(1)} MB`);

    expect(s.exactUsd).toBe(formatFemto(exact));
    expect(s.requests).toBe(N);
    expect(s.inputTokens).toBe(N * 1000);
    const sumUsers = Object.values(s.byUser).reduce((a, p) => a + parseExactUsd(p.exact), 0n);
    const sumModels = Object.values(s.byModel).reduce((a, p) => a + parseExactUsd(p.exact), 0n);
    expect(sumUsers).toBe(exact);
    expect(sumModels).toBe(exact);
    // Hour-precision window over the last 7 days: the start rounds down to the hour, and the buckets' total
    // equals the exact sum of the calls from that hour on.
    const since = c.now() - 7 * DAY_MS;
    const week = ledger.summary({ sinceMs: since });
    expect(week.resolution).toBe('hour');
    expect(week.windowStart).toBe(floorTo(since, HOUR_MS));
    let exactWeek = 0n;
    for (let i = 0; i < N; i++) if (T0 + i * 26_000 >= week.windowStart!) exactWeek += BigInt(1 + (i % 997)) * 1_234_567n;
    expect(week.exactUsd).toBe(formatFemto(exactWeek));

    // Structure: at most 360 minute + 744 hour + 366 day buckets (+1 boundary each), entries under the cap bound.
    expect(stats.buckets.minute).toBeLessThanOrEqual(361);
    expect(stats.buckets.hour).toBeLessThanOrEqual(745);
    expect(stats.entries).toBeLessThan(stats.maxEntries);
    expect(stats.maxEntries).toBe(223_512); // the documented worst case with the default caps
    expect(stats.entries).toBeLessThan(100_000); // measured 71,415
    // Stated bound for this traffic: under 24 MB of retained heap (measured ≈ 9.4 MB).
    expect(growthMb).toBeLessThan(24);
  });

  it('adversarial traffic (a new user and tag per call) stays within the configured worst case', () => {
    const c = clock(T0);
    const ledger = new CostLedger({ now: c.now });
    for (let i = 0; i < 100_000; i++) {
      c.set(T0 + i * 1000);
      ledger.record({ at: T0 + i * 1000, model: `model-${i}`, user: `u-${i}`, tags: [`t-${i}`], cost: '0.001' });
    }
    const stats = ledger.stats();
    expect(stats.entries).toBeLessThanOrEqual(stats.maxEntries);
    expect(ledger.summary().exactUsd).toBe('100');
    expect(Object.keys(ledger.summary().byUser)).toHaveLength(10_001);
  });
});
