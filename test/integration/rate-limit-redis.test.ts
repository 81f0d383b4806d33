/**
 * Rate limits shared through a real Redis (127.0.0.1:6379), end to end with `ResilientClaude` clients
 * against one fake server. These tests never skip: without Redis they fail, saying how to start it
 * (loudly under `CI=true`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CostStoreUnavailableError } from '../../src/cost/errors';
import type { RedisStateEvent } from '../../src/events';
import { RateLimitStoreUnavailableError } from '../../src/ratelimit/errors';
import { countInputTokens } from '../../src/testing';
import {
  MODEL,
  REDIS_BASE,
  closedPort,
  deleteKeys,
  messageRecords,
  requireRedis,
  runBurst,
  runWorker,
  sleep,
  startEnv,
  uniquePrefix,
  userParams,
  waitUntil,
  type Env,
} from './support';

const WINDOW_MS = 10_000;
const PROMPT = 'word '.repeat(100); // 128 input tokens at the server
/** A Redis db used only by the FLUSHDB test, so flushing it touches nobody else's keys. */
const FLUSH_DB = 12;

let admin: Redis;
let flushAdmin: Redis;
const prefixes: string[] = [];
let env: Env | undefined;

beforeAll(async () => {
  admin = await requireRedis(0);
  flushAdmin = await requireRedis(FLUSH_DB);
});

afterEach(async () => {
  await env?.close();
  env = undefined;
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(admin, prefix);
  admin?.disconnect();
  flushAdmin?.disconnect();
});

function prefix(tag: string): string {
  const p = uniquePrefix(tag);
  prefixes.push(p);
  return p;
}

async function keysUnder(redis: Redis, p: string): Promise<string[]> {
  return redis.keys(`${p}*`);
}

/**
 * A TCP proxy in front of Redis that can be "stopped" (listener closed, every connection cut) and
 * started again on the same port: Redis going away mid-run, from the client's point of view, without
 * touching the shared Redis server.
 */
class RedisProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(6379, '127.0.0.1');
      this.#sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const drop = () => {
        inbound.destroy();
        outbound.destroy();
        this.#sockets.delete(inbound);
        this.#sockets.delete(outbound);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('two separate processes sharing one Redis', () => {
  it('stay within the combined limits: zero 429s, every call served, both on the shared store', async () => {
    env = await startEnv({ rateLimits: { rpm: 600, itpm: 6_000, otpm: 30_000, windowMs: WINDOW_MS } });
    const p = prefix('two-proc');
    expect(countInputTokens(userParams(PROMPT))).toBe(128);
    const common = {
      SERVER_URL: env.server.url,
      REDIS_URL: REDIS_BASE,
      PREFIX: p,
      CALLS: '45',
      CONCURRENCY: '16',
      PROMPT,
      WORKERS: '2', // both start together once both are loaded
    };
    // 2 × 45 calls × 128 tokens = 11 520 input tokens against a bucket of 6 000 refilling 600/s: both
    // processes must queue on the shared buckets for several seconds.
    const reports = await Promise.all([runWorker(common), runWorker(common)]);
    const stats = env.server.stats();
    const records = messageRecords(env.server);
    const t0 = records[0]?.at ?? 0;
    const tooMany = records.filter((r) => r.status === 429).map((r) => `#${r.seq} at +${r.at - t0} ms`);
    console.info(
      `[redis two processes] ${JSON.stringify(reports.map((r) => ({ ok: r.ok, waits: r.rateLimitedEvents, store: r.store })))}; ` +
        `server 429s ${stats.rateLimited} ${tooMany.join(', ')}`,
    );
    for (const report of reports) {
      expect(report.errors).toEqual([]);
      expect(report.redisErrors).toEqual([]);
      expect(report.ok).toBe(45);
      expect(report.store).toBe('redis');
      expect(report.rateLimitedEvents).toBeGreaterThan(0); // each really had to wait for the other
    }
    expect(new Set(reports.map((r) => r.pid)).size).toBe(2);
    // Both start in 'auto' mode, knowing nothing: the start-up calls each sends before its first headers
    // are recorded in Redis, so the first to learn the limits leaves room for the other's.
    expect(stats.rateLimited).toBe(0);
    expect(messageRecords(env.server).filter((r) => r.status === 429)).toHaveLength(0);
    expect(stats.servedResponses).toBe(90);
    expect(await keysUnder(admin, p)).not.toHaveLength(0);
  }, 60_000);
});

describe('key loss', () => {
  it('FLUSHDB mid-run does not stop traffic: buckets re-seed and every call completes without 429s', async () => {
    env = await startEnv({ rateLimits: { rpm: 600, itpm: 6_000, otpm: 30_000, windowMs: WINDOW_MS } });
    const p = prefix('flush');
    const client = env.client({ redis: `${REDIS_BASE}/${FLUSH_DB}`, redisPrefix: p });
    const redisErrors: RedisStateEvent[] = [];
    client.on('redisError', (e) => redisErrors.push(e));
    const server = env.server;
    let flushedAt = 0;
    let keysAfterFlush = -1;
    const flusher = (async () => {
      await waitUntil(() => server.stats().servedResponses >= 50, 20_000);
      await flushAdmin.flushdb();
      flushedAt = Date.now();
      keysAfterFlush = (await keysUnder(flushAdmin, p)).length;
    })();
    const run = await runBurst(() => client.messages.create(userParams(PROMPT)), { calls: 90, concurrency: 16, capMs: 30_000 });
    await flusher;
    expect(flushedAt).toBeGreaterThan(0);
    expect(keysAfterFlush).toBeLessThanOrEqual(1); // gone (at most one re-created in between)
    expect(run.errors).toEqual([]);
    expect(run.ok).toBe(90);
    expect(server.stats().rateLimited).toBe(0);
    const servedAfterFlush = messageRecords(server).filter((r) => r.at > flushedAt && r.status === 200).length;
    expect(servedAfterFlush).toBeGreaterThanOrEqual(30);
    expect(await keysUnder(flushAdmin, p)).not.toHaveLength(0); // re-seeded
    expect(client.health().rateLimit[MODEL]?.store).toBe('redis');
    expect(redisErrors).toEqual([]);
  }, 60_000);
});

describe('Redis unreachable', () => {
  it("onRedisError 'local' (default): falls back to local limits with a redisError event; calls succeed", async () => {
    env = await startEnv({ rateLimits: { rpm: 600, itpm: 60_000, otpm: 60_000, windowMs: WINDOW_MS } });
    const port = await closedPort();
    const client = env.client({ redis: `redis://127.0.0.1:${port}`, redisPrefix: prefix('down-local') });
    const redisErrors: RedisStateEvent[] = [];
    client.on('redisError', (e) => redisErrors.push(e));
    const run = await runBurst(() => client.messages.create(userParams('hello')), { calls: 20, concurrency: 4, capMs: 20_000 });
    expect(run.errors).toEqual([]);
    expect(run.ok).toBe(20);
    expect(redisErrors.some((e) => e.component === 'rateLimit')).toBe(true);
    expect(client.health().rateLimit[MODEL]).toMatchObject({ store: 'local', learned: true });
    expect(env.server.stats().servedResponses).toBe(20);
  }, 30_000);

  it("onRedisError 'fail': calls fail with RateLimitStoreUnavailableError and nothing is sent", async () => {
    env = await startEnv();
    const port = await closedPort();
    const client = env.client({
      redis: `redis://127.0.0.1:${port}`,
      redisPrefix: prefix('down-fail'),
      onRedisError: 'fail',
      rateLimit: { rpm: 600, itpm: 600_000 },
    });
    const redisErrors: RedisStateEvent[] = [];
    client.on('redisError', (e) => redisErrors.push(e));
    for (let i = 0; i < 3; i++) {
      const error = await client.messages.create(userParams('hello')).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RateLimitStoreUnavailableError);
      expect(error).toMatchObject({ scope: MODEL });
    }
    expect(redisErrors.some((e) => e.component === 'rateLimit')).toBe(true);
    expect(messageRecords(env.server)).toHaveLength(0);
  }, 30_000);

  it("onRedisError 'fail' with a budget: the budget refuses first with CostStoreUnavailableError, nothing sent", async () => {
    env = await startEnv();
    const port = await closedPort();
    const client = env.client({
      redis: `redis://127.0.0.1:${port}`,
      redisPrefix: prefix('down-fail-budget'),
      onRedisError: 'fail',
      cost: { budget: { limitUsd: 100 } },
    });
    const error = await client.messages.create(userParams('hello')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CostStoreUnavailableError);
    expect(messageRecords(env.server)).toHaveLength(0);
  }, 30_000);

  it("Redis stopped mid-run ('local'): traffic continues on local limits, then returns to Redis when it answers", async () => {
    env = await startEnv({ rateLimits: { rpm: 600, itpm: 60_000, otpm: 60_000, windowMs: WINDOW_MS } });
    const proxy = new RedisProxy();
    await proxy.start();
    env.onClose(() => proxy.stop());
    const client = env.client({ redis: `redis://127.0.0.1:${proxy.port}`, redisPrefix: prefix('stopped') });
    const events: string[] = [];
    client.on('redisError', (e) => events.push(`error:${e.component}`));
    client.on('redisRecovered', (e) => events.push(`recovered:${e.component}`));

    for (let i = 0; i < 5; i++) await client.messages.create(userParams('before'));
    expect(client.health().rateLimit[MODEL]?.store).toBe('redis');

    await proxy.stop();
    const during = await runBurst(() => client.messages.create(userParams('during')), { calls: 10, concurrency: 2, capMs: 20_000 });
    expect(during.errors).toEqual([]);
    expect(during.ok).toBe(10);
    expect(events).toContain('error:rateLimit');
    expect(client.health().rateLimit[MODEL]?.store).toBe('local');

    await proxy.start(); // same port
    expect(await waitUntil(() => events.includes('recovered:rateLimit'), 15_000)).toBe(true);
    await sleep(50);
    await client.messages.create(userParams('after'));
    expect(client.health().rateLimit[MODEL]?.store).toBe('redis');
    expect(env.server.stats().rateLimited).toBe(0);
  }, 40_000);
});
