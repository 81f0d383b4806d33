import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/errors/budget-exceeded-error';
import type { BudgetWarning, Reservation } from '../../src/cost/budget';
import { CostStoreUnavailableError } from '../../src/cost/errors';
import { formatFemto, usdToFemto } from '../../src/cost/money';
import { RedisCostStore, type CostStoreEvent } from '../../src/cost/redis-cost-store';
import { SharedBudgetManager } from '../../src/cost/shared-budget';
import { DAY_MS } from '../../src/cost/window';
import { cleanup, newClient, requireRedis, uniquePrefix } from './redis-helper';

const T0 = Date.UTC(2026, 10, 27, 10);

let admin: Redis;
const prefix = uniquePrefix();
const extraClients: Redis[] = [];

function client(): Redis {
  const c = newClient();
  extraClients.push(c);
  return c;
}

beforeAll(async () => {
  admin = await requireRedis();
});

afterAll(async () => {
  if (admin) {
    await cleanup(admin, prefix);
    admin.disconnect();
  }
  for (const c of extraClients) c.disconnect();
});

let n = 0;
function names(): { name: string } {
  return { name: `b${++n}` };
}

describe('SharedBudgetManager on Redis', () => {
  it('reserves, settles and releases atomically, exactly once', async () => {
    const store = new RedisCostStore({ redis: admin, prefix });
    const b = new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => T0, ...names() }, store);
    const r = await b.reserve({ usd: '0.3' });
    expect(r).toMatchObject({ store: 'redis', usd: 0.3, windowStart: Date.UTC(2026, 10, 27), windowResetAt: Date.UTC(2026, 10, 28) });
    expect(await b.fetchState()).toMatchObject({ spentUsd: 0, reservedUsd: 0.3, remainingUsd: 0.7, source: 'redis' });
    expect(await b.settle(r, { exact: '0.123456789012345' })).toBe(true);
    expect(await b.settle(r, '0.1')).toBe(false);
    expect(await b.release(r)).toBe(false);
    const failed = await b.reserve({ usd: '0.5' });
    expect(await b.release(failed)).toBe(true);
    expect(await b.settle(failed, '0.5')).toBe(false);
    const s = await b.fetchState();
    // femto-exact spend survives the nano + remainder split in Redis
    expect(s).toMatchObject({ spentUsd: 0.123456789012345, reservedUsd: 0 });
    expect(b.state()).toMatchObject({ spentUsd: 0.123456789012345 });
  });

  it('refuses with BudgetExceededError (global and per user) and no side effect', async () => {
    const store = new RedisCostStore({ redis: admin, prefix });
    const b = new SharedBudgetManager({ limitUsd: 1, perUser: 0.5, window: 'day', now: () => T0, ...names() }, store);
    await b.settle(await b.reserve({ user: 'alice', usd: '0.5' }), '0.5');
    await expect(b.reserve({ user: 'alice', usd: '0.000001' })).rejects.toMatchObject({
      name: 'BudgetExceededError',
      scope: 'user',
      user: 'alice',
      limitUsd: 0.5,
      spentUsd: 0.5,
      requestedUsd: 0.000001,
      windowResetAt: Date.UTC(2026, 10, 28),
    });
    const bob = await b.reserve({ user: 'bob', usd: '0.5' }); // isolation: bob is unaffected
    await expect(b.reserve({ usd: '0.01' })).rejects.toMatchObject({ scope: 'global', spentUsd: 0.5, reservedUsd: 0.5 });
    await expect(b.reserve({ usd: '0.01' })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(await b.fetchState('alice')).toMatchObject({ spentUsd: 0.5, reservedUsd: 0.5, user: { spentUsd: 0.5, reservedUsd: 0, remainingUsd: 0 } });
    await b.release(bob);
  });

  it('64 concurrent reservers over 4 connections never settle more than the limit', async () => {
    const { name } = names();
    const managers = Array.from({ length: 4 }, () => new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => T0, name }, new RedisCostStore({ redis: client(), prefix })));
    let settled = 0n;
    let ok = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const b = managers[i % 4]!;
        let r: Reservation;
        try {
          r = await b.reserve({ usd: '0.1' }); // ~10 fit
        } catch (e) {
          expect(e).toBeInstanceOf(BudgetExceededError);
          refused++;
          return;
        }
        await new Promise((res) => setTimeout(res, i % 5));
        if (i % 6 === 0) {
          await b.release(r);
          return;
        }
        const actual = usdToFemto('0.1') - BigInt(i) * 1_000_000_000n;
        await b.settle(r, { exact: formatFemto(actual) });
        settled += actual;
        ok++;
      }),
    );
    const state = await managers[0]!.fetchState();
    expect(settled).toBeLessThanOrEqual(usdToFemto(1));
    expect(usdToFemto(state.spentUsd)).toBe(settled);
    expect(state.reservedUsd).toBe(0);
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('fires budgetWarning once per window across managers', async () => {
    const { name } = names();
    const warnings: BudgetWarning[] = [];
    let now = T0;
    const opts = { limitUsd: 1, perUser: 1, warnAt: 0.5, window: 'day' as const, now: () => now, name, budgetWarning: (w: BudgetWarning) => warnings.push(w) };
    const a = new SharedBudgetManager(opts, new RedisCostStore({ redis: admin, prefix }));
    const b = new SharedBudgetManager(opts, new RedisCostStore({ redis: client(), prefix }));
    for (const m of [a, b, a, b]) await m.settle(await m.reserve({ user: 'u', usd: '0.2' }), '0.2');
    // 0.2, 0.4, 0.6 (crosses 0.5: global and user, once), 0.8
    expect(warnings.map((w) => [w.scope, w.spentUsd])).toEqual([
      ['global', 0.6],
      ['user', 0.6],
    ]);
    now = T0 + DAY_MS;
    for (const m of [a, b, a]) await m.settle(await m.reserve({ user: 'u', usd: '0.2' }), '0.2');
    expect(warnings).toHaveLength(4);
  });

  it('rolls over fixed windows and charges a late settlement to its own window', async () => {
    const { name } = names();
    let now = 1_800_000_000_000 + 59_000;
    const b = new SharedBudgetManager({ limitUsd: 1, window: 60_000, now: () => now, name }, new RedisCostStore({ redis: admin, prefix }));
    const late = await b.reserve({ usd: 1 });
    await expect(b.reserve({ usd: '0.01' })).rejects.toBeInstanceOf(BudgetExceededError);
    now += 1000; // next window
    const fresh = await b.reserve({ usd: 1 });
    expect(await b.settle(late, '0.7')).toBe(true);
    expect(await b.fetchState()).toMatchObject({ spentUsd: 0, reservedUsd: 1, windowStart: 1_800_000_060_000 });
    await b.release(fresh);
  });

  it('keeps the spend across a restart (new client, new store, new manager)', async () => {
    const { name } = names();
    const first = client();
    const before = new SharedBudgetManager({ limitUsd: 1, window: 'month', now: () => T0, name }, new RedisCostStore({ redis: first, prefix }));
    await before.settle(await before.reserve({ usd: '0.8' }), '0.75');
    first.disconnect();
    const after = new SharedBudgetManager({ limitUsd: 1, window: 'month', now: () => T0, name }, new RedisCostStore({ redis: client(), prefix }));
    expect(await after.fetchState()).toMatchObject({ spentUsd: 0.75, reservedUsd: 0 });
    await expect(after.reserve({ usd: '0.3' })).rejects.toMatchObject({ scope: 'global', spentUsd: 0.75 });
  });

  it('namespaces keys under the prefix and expires them after the window ends', async () => {
    const { name } = names();
    const store = new RedisCostStore({ redis: admin, prefix, keyGraceMs: 60_000 });
    const b = new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => T0, name }, store);
    await b.reserve({ usd: '0.1' });
    const [state, res, exp] = store.budgetKeys(name, Date.UTC(2026, 10, 27));
    expect(state).toBe(`${prefix}{budget:${name}:${Date.UTC(2026, 10, 27)}}`);
    const expected = Date.UTC(2026, 10, 28) - T0 + 60_000; // window end − now + grace
    for (const key of [state, res, exp]) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(expected - 5000);
      expect(ttl).toBeLessThanOrEqual(expected);
    }
  });

  it('releases reservations of dead callers after reservationTtlMs; a late settle still counts', async () => {
    const { name } = names();
    let now = T0;
    const b = new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => now, name }, new RedisCostStore({ redis: admin, prefix, reservationTtlMs: 60_000 }));
    const orphan = await b.reserve({ usd: 1 });
    await expect(b.reserve({ usd: '0.5' })).rejects.toBeInstanceOf(BudgetExceededError);
    now += 60_001;
    const r = await b.reserve({ usd: '0.5' }); // sweeps the orphan first
    expect(await b.settle(orphan, '0.25')).toBe(true); // the call did finish: its spend is added
    expect(await b.settle(orphan, '0.25')).toBe(false);
    expect(await b.fetchState()).toMatchObject({ spentUsd: 0.25, reservedUsd: 0.5 });
    await b.release(r);
  });
});

describe('Redis loss', () => {
  it("'local' (default): falls back to a per-process budget with one redisError event", async () => {
    const events: CostStoreEvent[] = [];
    const store = new RedisCostStore({ redis: 'redis://127.0.0.1:1', prefix, commandDeadlineMs: 300, onEvent: (e) => events.push(e) });
    try {
      const b = new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => T0, ...names() }, store);
      const r = await b.reserve({ usd: '0.6' });
      expect(r.store).toBe('local');
      await expect(b.reserve({ usd: '0.6' })).rejects.toBeInstanceOf(BudgetExceededError); // the local budget still holds
      expect(await b.settle(r, '0.5')).toBe(true);
      expect(b.state()).toMatchObject({ source: 'local', spentUsd: 0.5 });
      expect(events.map((e) => e.type)).toEqual(['redisError']);
      expect(events[0]).toMatchObject({ operation: 'budget.reserve', mode: 'local' });
      expect(store.degraded).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("'fail': refuses reservations with CostStoreUnavailableError (no timeout wording)", async () => {
    const store = new RedisCostStore({ redis: 'redis://127.0.0.1:1', prefix, commandDeadlineMs: 300, onRedisError: 'fail' });
    try {
      const b = new SharedBudgetManager({ limitUsd: 1, now: () => T0, ...names() }, store);
      const error = await b.reserve({ usd: '0.1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CostStoreUnavailableError);
      expect(String(error)).not.toMatch(/timed? ?out/i);
    } finally {
      await store.close();
    }
  });

  it('recovers when Redis answers again (redisRecovered) and back-fills spend made meanwhile', async () => {
    const events: CostStoreEvent[] = [];
    const c = client();
    await c.ping();
    const store = new RedisCostStore({ redis: c, prefix, retryRedisAfterMs: 1, commandDeadlineMs: 500, onEvent: (e) => events.push(e) });
    const b = new SharedBudgetManager({ limitUsd: 1, now: () => T0, ...names() }, store);
    c.disconnect(); // Redis "goes away" for this client
    const local = await b.reserve({ usd: '0.2' });
    expect(local.store).toBe('local');
    await c.connect();
    await new Promise((res) => setTimeout(res, 5)); // past retryRedisAfterMs
    expect(await b.settle(local, '0.2')).toBe(true); // settled locally, then charged to Redis
    expect(events.map((e) => e.type)).toEqual(['redisError', 'redisRecovered']);
    const shared = await b.reserve({ usd: '0.1' });
    expect(shared.store).toBe('redis');
    expect(await b.fetchState()).toMatchObject({ spentUsd: 0.2, reservedUsd: 0.1 });
    await b.release(shared);
  });

  it('a Redis that lost every key learns each process\'s spend back from its next script', async () => {
    const now = () => T0;
    const cfg = { limitUsd: 1, window: 'day' as const, now, ...names() };
    const a = new SharedBudgetManager(cfg, new RedisCostStore({ redis: client(), prefix }));
    const b = new SharedBudgetManager(cfg, new RedisCostStore({ redis: client(), prefix }));
    await a.settle(await a.reserve({ usd: '0.3' }), '0.25');
    await b.settle(await b.reserve({ usd: '0.3' }), '0.35');
    const inFlight = await a.reserve({ usd: '0.1' }); // held across the loss
    expect(await a.fetchState()).toMatchObject({ spentUsd: 0.6, reservedUsd: 0.1 });

    await cleanup(admin, prefix); // a restart without persistence: the budget's keys are gone
    expect(await a.fetchState()).toMatchObject({ spentUsd: 0, reservedUsd: 0 });

    // a's next script restores a's 0.25, and settling the reservation Redis forgot still counts.
    expect(await a.settle(inFlight, '0.05')).toBe(true);
    expect(await a.fetchState()).toMatchObject({ spentUsd: 0.3 });
    // b's next reserve restores b's 0.35 first, then decides: 0.65 spent, 0.4 does not fit.
    await expect(b.reserve({ usd: '0.4' })).rejects.toMatchObject({ name: 'BudgetExceededError', spentUsd: 0.65 });
    // Restoring is idempotent: more scripts do not count anything twice.
    const r = await a.reserve({ usd: '0.1' });
    await a.release(r);
    await b.release(await b.reserve({ usd: '0.01' }));
    expect(await b.fetchState()).toMatchObject({ spentUsd: 0.65, reservedUsd: 0 });
  });

  it('during an outage the local fallback starts from the spend last seen in Redis', async () => {
    const c = client();
    await c.ping();
    const store = new RedisCostStore({ redis: c, prefix, retryRedisAfterMs: 60_000, commandDeadlineMs: 500 });
    const b = new SharedBudgetManager({ limitUsd: 1, now: () => T0, ...names() }, store);
    await b.settle(await b.reserve({ usd: '0.7' }), '0.7');
    c.disconnect();
    await expect(b.reserve({ usd: '0.4' })).rejects.toMatchObject({ name: 'BudgetExceededError', spentUsd: 0.7 });
    const local = await b.reserve({ usd: '0.3' });
    expect(local.store).toBe('local');
    expect(b.state()).toMatchObject({ source: 'local', spentUsd: 0.7, reservedUsd: 0.3 });
  });
});
