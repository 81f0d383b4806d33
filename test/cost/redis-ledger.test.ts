import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CostLedger, OTHER_KEY } from '../../src/cost/ledger';
import { RedisCostStore } from '../../src/cost/redis-cost-store';
import { DAY_MS } from '../../src/cost/window';
import { cleanup, newClient, requireRedis, uniquePrefix } from './redis-helper';

const T0 = Date.UTC(2026, 10, 27, 10); // 2026-11-27T10:00Z

let admin: Redis;
let other: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  admin = await requireRedis();
  other = newClient();
});

afterAll(async () => {
  if (admin) {
    await cleanup(admin, prefix);
    admin.disconnect();
  }
  other?.disconnect();
});

describe('shared ledger in Redis', () => {
  it('aggregates two "processes" into shared lifetime / day / month totals by model, user and tag', async () => {
    let now = T0 - DAY_MS; // start yesterday
    const sinkA = new RedisCostStore({ redis: admin, prefix, now: () => now }).ledger('l1');
    const sinkB = new RedisCostStore({ redis: other, prefix, now: () => now }).ledger('l1');
    const a = new CostLedger({ now: () => now, shared: sinkA });
    const b = new CostLedger({ now: () => now, shared: sinkB });
    a.record({ at: now, model: 'claude-opus-5', user: 'alice', tags: ['x'], inputTokens: 10, outputTokens: 1, cost: '0.5' });
    now = T0;
    for (let i = 0; i < 1000; i++) {
      // 0.00008414 × 1000 = 0.08414 exactly
      (i % 2 ? a : b).record({ at: now, model: 'claude-haiku-5-5', user: i % 3 ? 'bob' : 'carol', tags: ['y'], inputTokens: 333, outputTokens: 77, cacheReadTokens: 1234, cost: { exact: '0.00008414' } });
    }
    await sinkA.flush();
    await sinkB.flush();

    const life = await a.sharedSummary();
    expect(life).toMatchObject({ exactUsd: '0.58414', requests: 1001, inputTokens: 333_010, outputTokens: 77_001, cacheReadTokens: 1_234_000, resolution: 'lifetime' });
    expect(life.byModel['claude-haiku-5-5']).toMatchObject({ exact: '0.08414', requests: 1000 });
    expect(life.byUser['alice']).toMatchObject({ exact: '0.5', requests: 1 });
    expect(life.byUser['bob']!.requests + life.byUser['carol']!.requests).toBe(1000);
    expect(life.byTag['y']).toMatchObject({ exact: '0.08414' });
    // The local ledgers only know their own half.
    expect(a.summary().requests + b.summary().requests).toBe(1001);

    // Today only (day precision): the 1000 calls; since before the first call: exact lifetime.
    expect(await sinkB.summary({ sinceMs: T0 - 60_000 })).toMatchObject({ exactUsd: '0.08414', requests: 1000, resolution: 'day', windowStart: Date.UTC(2026, 10, 27) });
    expect(await sinkB.summary({ days: 2 })).toMatchObject({ exactUsd: '0.58414', resolution: 'lifetime' });
    expect(await sinkA.day('2026-11-26')).toMatchObject({ exactUsd: '0.5', requests: 1 });
    expect(await sinkA.month('2026-11')).toMatchObject({ exactUsd: '0.58414', requests: 1001, resolution: 'month' });
    expect(await sinkA.month('2026-10')).toMatchObject({ exactUsd: '0', requests: 0 });
  });

  it('caps distinct names per hash with (other), keeping exact totals', async () => {
    const store = new RedisCostStore({ redis: admin, prefix, now: () => T0, ledgerCaps: { users: 2, models: 1, tags: 1 } });
    const sink = store.ledger('l2');
    const ledger = new CostLedger({ now: () => T0, shared: sink });
    for (let i = 0; i < 5; i++) ledger.record({ at: T0, model: `m${i}`, user: `u${i}`, tags: [`t${i}`], cost: '0.1' });
    await sink.flush();
    const s = await ledger.sharedSummary();
    expect(Object.keys(s.byUser).sort()).toEqual([OTHER_KEY, 'u0', 'u1'].sort());
    expect(s.byUser[OTHER_KEY]).toMatchObject({ exact: '0.3', requests: 3 });
    expect(s.byModel[OTHER_KEY]!.requests).toBe(4);
    expect(s.exactUsd).toBe('0.5');
    // day and month keys expire; lifetime does not
    expect(await admin.pttl(store.ledgerKey('l2', 'd:2026-11-27'))).toBeGreaterThan(399 * DAY_MS);
    expect(await admin.pttl(store.ledgerKey('l2', 'm:2026-11'))).toBeGreaterThan(1000 * DAY_MS);
    expect(await admin.pttl(store.ledgerKey('l2', 'life'))).toBe(-1);
  });

  it('a Redis outage never fails record(); the local ledger keeps the call', async () => {
    const store = new RedisCostStore({ redis: 'redis://127.0.0.1:1', prefix, commandDeadlineMs: 200 });
    try {
      const sink = store.ledger('l3');
      const ledger = new CostLedger({ now: () => T0, shared: sink });
      expect(() => ledger.record({ at: T0, model: 'm', cost: '1' })).not.toThrow();
      await sink.flush();
      expect(ledger.summary().exactUsd).toBe('1');
      await expect(ledger.sharedSummary()).rejects.toMatchObject({ name: 'CostStoreUnavailableError' });
    } finally {
      await store.close();
    }
  });
});
