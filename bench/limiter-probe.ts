/**
 * Tiny self-measurements of the limiter's overhead, for `npm run bench` (not part of the library).
 *
 * @module
 */
import type Redis from 'ioredis';
import { RateLimiter } from '../src/ratelimit/rate-limiter';
import { RedisBucketStore } from '../src/ratelimit/redis-store';
import { type Demand, type Permit } from '../src/ratelimit/types';

/** Latency figures, microseconds. */
export interface LatencyFigures {
  /** Median. */
  medianUs: number;
  /** 99th percentile. */
  p99Us: number;
}

function figures(samplesNs: bigint[]): LatencyFigures {
  const sorted = samplesNs.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { medianUs: at(0.5), p99Us: at(0.99) };
}

const DEMAND: Demand = { requests: 1, inputTokens: 1200, outputTokens: 1024 };
const SERVED = { kind: 'served', actual: { inputTokens: 1000, outputTokens: 300 } } as const;

/**
 * In-process fast path: one `acquire` (capacity available, synchronous) plus its `settle`, timed
 * individually with `process.hrtime`.
 *
 * @param iterations - Timed iterations (after a warm-up of the same size, at most 10000).
 */
export function measureFastPath(iterations: number): LatencyFigures {
  const limiter = new RateLimiter({ mode: 'explicit', limits: { rpm: 1e12, itpm: 1e15, otpm: 1e15 } });
  const run = (): bigint => {
    const t0 = process.hrtime.bigint();
    const permit = limiter.acquire('bench', DEMAND) as Permit;
    permit.settle(SERVED);
    return process.hrtime.bigint() - t0;
  };
  for (let i = 0; i < Math.min(iterations, 10_000); i++) run();
  const samples: bigint[] = new Array<bigint>(iterations);
  for (let i = 0; i < iterations; i++) samples[i] = run();
  void limiter.close();
  return figures(samples);
}

/**
 * Shared mode: one admission (`acquire` → reserve script round trip → permit) with a
 * {@link RedisBucketStore}, awaited sequentially; each permit is settled (its adjust script runs in
 * the background, as in real use). Uses a throw-away key prefix and deletes its key afterwards.
 *
 * @param redis - ioredis client or URL.
 * @param iterations - Timed admissions (after 100 warm-up ones).
 */
export async function measureRedisAdmission(redis: Redis | string, iterations: number): Promise<LatencyFigures> {
  const keyPrefix = `rc:rl:bench:${process.pid}:${Date.now()}:`;
  const store = new RedisBucketStore(redis, { keyPrefix });
  const limiter = new RateLimiter({ mode: 'explicit', limits: { rpm: 1e12, itpm: 1e15, otpm: 1e15 }, store, onRedisError: 'fail' });
  const once = async (): Promise<bigint> => {
    const t0 = process.hrtime.bigint();
    const permit = await limiter.acquire('bench', DEMAND);
    const dt = process.hrtime.bigint() - t0;
    permit.settle(SERVED);
    return dt;
  };
  try {
    for (let i = 0; i < 100; i++) await once();
    const samples: bigint[] = [];
    for (let i = 0; i < iterations; i++) samples.push(await once());
    return figures(samples);
  } finally {
    await store.client.del(store.keyOf('bench')).catch(() => undefined);
    await limiter.close();
  }
}
