/**
 * RedisBucketStore + RateLimiter against a real Redis (127.0.0.1:6379). Every test uses its own key
 * prefix and deletes its keys; the outage tests use a client to a dead port or a private TCP proxy,
 * never anything that would disturb the shared server.
 */
import type Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitCapacityError } from '../../src/errors/rate-limit-capacity-error';
import { RateLimitWaitExceededError } from '../../src/errors/rate-limit-wait-exceeded-error';
import { RateLimitStoreUnavailableError } from '../../src/ratelimit/errors';
import { RateLimiter } from '../../src/ratelimit/rate-limiter';
import { RedisBucketStore } from '../../src/ratelimit/redis-store';
import { type Demand, type Permit, type RateLimitEvent } from '../../src/ratelimit/types';
import { type RateLimiterOptions } from '../../src/ratelimit/options';
import { cleanup, client, closedPort, eventually, FLUSHABLE_DB, RedisProxy, requireRedis, sleep, uniquePrefix } from './helpers/redis';

const req = (inputTokens = 0, outputTokens = 0): Demand => ({ requests: 1, inputTokens, outputTokens });

let admin: Redis;
const opened: { limiter: RateLimiter; client?: Redis }[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  await requireRedis();
  admin = client();
});

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.limiter.close();
    o.client?.disconnect();
  }
  for (const p of prefixes.splice(0)) await cleanup(admin, p);
});

afterAll(() => {
  admin?.disconnect();
});

/** A limiter on its own ioredis client, sharing `prefix`. */
function shared(prefix: string, opts: Partial<RateLimiterOptions> = {}, redis: Redis = client()): { limiter: RateLimiter; store: RedisBucketStore } {
  const store = new RedisBucketStore(redis, { keyPrefix: prefix });
  const limiter = new RateLimiter({ mode: 'explicit', onRedisError: 'fail', ...opts, store });
  opened.push({ limiter, client: redis });
  return { limiter, store };
}

function newPrefix(): string {
  const p = uniquePrefix();
  prefixes.push(p);
  return p;
}

/** Polls an async condition (Redis writes are fire-and-forget) for up to 2 s. */
async function poll(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i++) await sleep(10);
}

async function hashLevels(redis: Redis, key: string): Promise<[number, number, number]> {
  const [l1, l2, l3] = await redis.hmget(key, 'l1', 'l2', 'l3');
  return [Number(l1), Number(l2), Number(l3)];
}

describe('RedisBucketStore', () => {
  it('reserves all three buckets or none, atomically: 200 concurrent acquires from 4 stores never over-admit', async () => {
    const prefix = newPrefix();
    const limits = { rpm: 100, itpm: 5000, otpm: 1_000_000 };
    const limiters = Array.from({ length: 4 }, () => shared(prefix, { limits }));
    const demands = Array.from({ length: 200 }, (_, i) => req(50 + ((i * 37) % 101), 10));
    const t0 = Date.now();
    const results = await Promise.allSettled(
      demands.map((d, i) => limiters[i % 4]!.limiter.acquire('s', d, { maxWaitMs: 300 }) as Promise<Permit>),
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const admitted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [demands[i]!] : []));
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimitWaitExceededError);
    const requests = admitted.length;
    const input = admitted.reduce((s, d) => s + d.inputTokens, 0);
    // The input bucket is the binding one: ≤ capacity + refill over the run.
    expect(input).toBeLessThanOrEqual(5000 + (5000 / 60) * (elapsedS + 0.1));
    expect(requests).toBeLessThanOrEqual(100 + (100 / 60) * (elapsedS + 0.1));
    expect(requests).toBeGreaterThan(20);
    // All-or-none: every bucket was charged exactly by the admitted calls (no partial reservation).
    const [l1, l2, l3] = await hashLevels(admin, limiters[0]!.store.keyOf('s'));
    const refill = (cap: number) => (cap / 60) * (Date.now() - t0 + 100) / 1000;
    expect(l1).toBeGreaterThanOrEqual(100 - requests - 1e-6);
    expect(l1).toBeLessThanOrEqual(100 - requests + refill(100));
    expect(l2).toBeGreaterThanOrEqual(5000 - input - 1e-6);
    expect(l2).toBeLessThanOrEqual(5000 - input + refill(5000));
    expect(l3).toBeGreaterThanOrEqual(1_000_000 - requests * 10 - 1e-6);
  });

  it('waits for refill when the script says so, then admits by priority', async () => {
    const prefix = newPrefix();
    const events: RateLimitEvent[] = [];
    const { limiter } = shared(prefix, { limits: { rpm: 60 }, onEvent: (e) => events.push(e) }); // 1 per second
    const burst = await Promise.all(Array.from({ length: 60 }, () => limiter.acquire('s', req())));
    expect(burst).toHaveLength(60);
    const order: string[] = [];
    // `low` is reserving (and told to wait ~1 s) when `high` arrives; the next attempt is for `high`.
    const low = (limiter.acquire('s', req(), { priority: 0 }) as Promise<Permit>).then((p) => (order.push('low'), p));
    const high = (limiter.acquire('s', req(), { priority: 1 }) as Promise<Permit>).then((p) => (order.push('high'), p));
    const [lp, hp] = await Promise.all([low, high]);
    expect(order).toEqual(['high', 'low']);
    expect(hp.waitedMs).toBeGreaterThan(500);
    expect(lp.waitedMs).toBeGreaterThan(hp.waitedMs);
    expect(events.find((e) => e.type === 'rateLimited')).toMatchObject({ scope: 's', dimension: 'requests' });
  });

  it('refuses a demand above the shared capacity, and settles give back to the shared bucket', async () => {
    const prefix = newPrefix();
    const a = shared(prefix, { limits: { itpm: 1000 } });
    const p = await a.limiter.acquire('s', req(800));
    let [, l2] = await hashLevels(admin, a.store.keyOf('s'));
    expect(l2).toBeLessThan(201);
    p.settle({ kind: 'served', actual: { inputTokens: 100, outputTokens: 0 } });
    await sleep(50); // the adjust script runs in the background
    [, l2] = await hashLevels(admin, a.store.keyOf('s'));
    expect(l2).toBeGreaterThanOrEqual(900 - 1e-6);
    expect(() => a.limiter.acquire('s', req(1001))).toThrow(RateLimitCapacityError);
  });

  it('shares header syncs and 429 pauses between processes', async () => {
    const prefix = newPrefix();
    const a = shared(prefix, { limits: { rpm: 100 } });
    const b = shared(prefix, { limits: { rpm: 100 } });
    await b.limiter.acquire('s', req()); // creates the shared hash
    const h = new Headers({
      'anthropic-ratelimit-requests-limit': '100',
      'anthropic-ratelimit-requests-remaining': '5',
      'anthropic-ratelimit-requests-reset': new Date(Date.now() + 57_000).toISOString(),
    });
    a.limiter.observe('s', h, 200);
    await sleep(30);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => b.limiter.acquire('s', req(), { maxWaitMs: 0 })));
    // B never saw the headers, yet only what the server said remains is admitted.
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(5);

    a.limiter.observe('s', new Headers({ 'retry-after': '1' }), 429);
    await sleep(30);
    const events: string[] = [];
    const t0 = Date.now();
    const c = shared(prefix, { limits: { rpm: 100 }, onEvent: (e) => events.push(e.type === 'rateLimited' ? e.dimension : e.type) });
    const permit = await c.limiter.acquire('s', req(0, 0), { maxWaitMs: 5000 });
    // C (a third process) waited for A's pause although it never saw the 429.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    expect(permit.waitedMs).toBeGreaterThanOrEqual(800);
    expect(events).toContain('pause');
  });

  it("'auto' start-up: calls admitted before the limits were known are left room for by whoever learns them first", async () => {
    const prefix = newPrefix();
    const a = shared(prefix, { mode: 'auto', startupConcurrency: 4 });
    const b = shared(prefix, { mode: 'auto', startupConcurrency: 4 });
    // B sends its start-up calls (nothing known yet) and they are still on the wire.
    const bCalls = await Promise.all(Array.from({ length: 3 }, () => b.limiter.acquire('s', req(100, 0))));
    const field = async (name: string) => Number(await admin.hget(b.store.keyOf('s'), name));
    await poll(async () => (await field('u2')) === 300);
    expect(await field('u2')).toBe(300);
    // A's first call is answered: the server says 1,000 input tokens remain, not knowing B's 300.
    const aFirst = await a.limiter.acquire('s', req(100, 0));
    // (The rate-limit layer settles a permit, then learns from its response's headers.)
    aFirst.settle({ kind: 'served', actual: { inputTokens: 100, outputTokens: 0 } });
    a.limiter.observe(
      's',
      new Headers({
        'anthropic-ratelimit-input-tokens-limit': '1000',
        'anthropic-ratelimit-input-tokens-remaining': '900',
        'anthropic-ratelimit-input-tokens-reset': new Date(Date.now() + 60_000).toISOString(),
      }),
      200,
      aFirst,
    );
    await poll(async () => (await field('c2')) === 1000);
    expect((await hashLevels(admin, a.store.keyOf('s')))[1]).toBeLessThanOrEqual(600 + 2);
    // So A admits 6 more calls of 100 now, not 9: with B's 3, the server's bucket is never overdrawn.
    let admitted = 0;
    for (let i = 0; i < 9; i++) {
      const got = await Promise.resolve(a.limiter.acquire('s', req(100, 0), { maxWaitMs: 0 })).then(
        () => true,
        () => false,
      );
      if (got) admitted++;
    }
    expect(admitted).toBe(6);
    // B's calls answered: their demand is no longer "unaccounted".
    for (const p of bCalls) p.settle({ kind: 'served', actual: { inputTokens: 100, outputTokens: 0 } });
    await poll(async () => (await field('u2')) === 0);
    expect(await field('u2')).toBe(0);
  });

  it('survives key loss: FLUSHDB mid-run, calls keep flowing, re-seeded from the caller’s view', async () => {
    const prefix = newPrefix();
    const redis = client({ db: FLUSHABLE_DB });
    const { limiter, store } = shared(prefix, { limits: { rpm: 100 } }, redis);
    for (let i = 0; i < 60; i++) await limiter.acquire('s', req());
    await redis.flushdb();
    expect(await redis.exists(store.keyOf('s'))).toBe(0);
    let ok = 0;
    for (; ok < 60; ok++) {
      const got = await Promise.resolve(limiter.acquire('s', req(), { maxWaitMs: 0 })).then(
        () => true,
        (e: unknown) => {
          expect(e).toBeInstanceOf(RateLimitWaitExceededError);
          return false;
        },
      );
      if (!got) break;
    }
    // Re-seeded from this process's level (≈ 40 left), not from a full bucket of 100.
    expect(ok).toBeGreaterThanOrEqual(39);
    expect(ok).toBeLessThanOrEqual(42);
    expect(await redis.exists(store.keyOf('s'))).toBe(1);
    expect(await redis.pttl(store.keyOf('s'))).toBeGreaterThan(0);
    // Also after the keys of a running scope vanish between two waits.
    await redis.del(store.keyOf('s'));
    await expect(Promise.resolve(limiter.acquire('s', req(), { maxWaitMs: 5000 }))).resolves.toBeDefined();
    await cleanup(redis, prefix); // this test's keys live in FLUSHABLE_DB, not where afterEach looks
  });

  it('falls back to EVAL when the script cache is empty (NOSCRIPT)', async () => {
    const prefix = newPrefix();
    const real = client();
    await real.ping();
    let noscript = 0;
    // Only what the store uses: status, evalsha (always NOSCRIPT here), eval.
    const fake = {
      status: 'ready',
      evalsha: () => {
        noscript++;
        return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
      },
      eval: (...args: Parameters<Redis['eval']>) => real.eval(...args),
    } as unknown as Redis;
    const store = new RedisBucketStore(fake, { keyPrefix: prefix });
    const limiter = new RateLimiter({ mode: 'explicit', limits: { rpm: 10 }, store, onRedisError: 'fail' });
    opened.push({ limiter, client: real });
    const p = await limiter.acquire('s', req());
    expect(p.scope).toBe('s');
    expect(noscript).toBe(1);
    expect(await admin.hget(store.keyOf('s'), 'l1')).toBe('9');
  });
});

describe('Redis unavailable', () => {
  it("'local': falls back to the in-process buckets with an event", async () => {
    const port = await closedPort();
    const dead = client({ port, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
    dead.on('error', () => undefined);
    const events: RateLimitEvent[] = [];
    const store = new RedisBucketStore(dead, { keyPrefix: newPrefix(), commandDeadlineMs: 300 });
    const limiter = new RateLimiter({ mode: 'explicit', limits: { rpm: 3 }, store, onRedisError: 'local', onEvent: (e) => events.push(e) });
    opened.push({ limiter, client: dead });
    const first = await limiter.acquire('s', req());
    expect(first.scope).toBe('s');
    expect(events.some((e) => e.type === 'redisError')).toBe(true);
    // From now on the local fast path serves, synchronously, and local limits still hold.
    expect(limiter.acquire('s', req())).not.toBeInstanceOf(Promise);
    expect(limiter.acquire('s', req())).not.toBeInstanceOf(Promise);
    expect(() => limiter.acquire('s', req(), { maxWaitMs: 0 })).toThrow(RateLimitWaitExceededError);
    expect(limiter.snapshot().s?.store).toBe('local');
  });

  it("'fail': rejects with RateLimitStoreUnavailableError", async () => {
    const port = await closedPort();
    const dead = client({ port, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
    dead.on('error', () => undefined);
    const store = new RedisBucketStore(dead, { keyPrefix: newPrefix(), commandDeadlineMs: 300 });
    const limiter = new RateLimiter({ mode: 'explicit', limits: { rpm: 3 }, store, onRedisError: 'fail' });
    opened.push({ limiter, client: dead });
    await expect(Promise.resolve().then(() => limiter.acquire('s', req()))).rejects.toBeInstanceOf(RateLimitStoreUnavailableError);
    // Still failing, at once, while Redis is down.
    await expect(Promise.resolve().then(() => limiter.acquire('s', req()))).rejects.toBeInstanceOf(RateLimitStoreUnavailableError);
  });

  it('returns to Redis when it answers again (ioredis reconnects itself)', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    const prefix = newPrefix();
    const redis = client({ port: proxy.port, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
    const events: string[] = [];
    const store = new RedisBucketStore(redis, { keyPrefix: prefix, commandDeadlineMs: 300 });
    const limiter = new RateLimiter({
      mode: 'explicit',
      limits: { itpm: 1_000_000 },
      store,
      onRedisError: 'local',
      storeProbeIntervalMs: 50,
      onEvent: (e) => events.push(e.type),
    });
    opened.push({ limiter, client: redis });
    try {
      await limiter.acquire('s', req(100_000));
      expect(await admin.hget(store.keyOf('s'), 'l2')).toBe('900000');

      await proxy.stop();
      await limiter.acquire('s', req(100_000)); // Redis gone: served locally
      expect(events).toContain('redisError');
      expect(limiter.snapshot().s?.store).toBe('local');

      await proxy.start(); // same port
      expect(await eventually(() => events.includes('redisRecovered'), 5000)).toBe(true);
      expect(limiter.snapshot().s?.store).toBe('redis');
      const before = Number(await admin.hget(store.keyOf('s'), 'l2'));
      expect(before).toBeGreaterThan(850_000); // the outage's local call was not charged in Redis
      await limiter.acquire('s', req(100_000));
      const after = Number(await admin.hget(store.keyOf('s'), 'l2'));
      expect(after).toBeLessThan(before - 90_000); // charged in Redis again
    } finally {
      await proxy.stop();
    }
  });
});
