/**
 * A separate Node process for the two-process test: it shares one scope through Redis with its
 * siblings, fires calls for a while and prints, as one JSON line, the wall-clock time and demand of
 * every admission. Configured by environment variables (see the test); `RL_WORKERS` siblings start together.
 */
import Redis from 'ioredis';
import { RateLimiter } from '../../../src/ratelimit/rate-limiter';
import { RedisBucketStore } from '../../../src/ratelimit/redis-store';
import { type Permit } from '../../../src/ratelimit/types';

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined) throw new Error(`missing ${name}`);
  return v;
}

async function main(): Promise<void> {
  const prefix = env('RL_PREFIX');
  const workers = Number(env('RL_WORKERS'));
  const calls = Number(env('RL_CALLS'));
  const runMs = Number(env('RL_RUN_MS'));
  const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
  const errors: string[] = [];
  const limiter = new RateLimiter({
    mode: 'explicit',
    limits: { rpm: Number(env('RL_RPM')), itpm: Number(env('RL_ITPM')) },
    store: new RedisBucketStore(redis, { keyPrefix: prefix }),
    onRedisError: 'fail',
    onEvent: (e) => {
      if (e.type === 'redisError') errors.push(e.message);
    },
  });
  await redis.ping();
  // Start barrier: every sibling is loaded before any fires, however slowly each process started (a
  // fixed start time fails on a loaded machine, where one process may still be loading when the
  // other has taken all the capacity). The first to see them all sets the common start time.
  await redis.incr(`${prefix}barrier:ready`);
  while (Number(await redis.get(`${prefix}barrier:ready`)) < workers) await new Promise((resolve) => setTimeout(resolve, 20));
  await redis.set(`${prefix}barrier:start`, String(Date.now() + 200), 'NX');
  const startAt = Number(await redis.get(`${prefix}barrier:start`));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const admitted: { at: number; input: number }[] = [];
  let refused = 0;
  const deadline = startAt + runMs;
  await Promise.all(
    Array.from({ length: calls }, async (_, i) => {
      const input = 20 + ((i * 53 + process.pid) % 80);
      try {
        const permit: Permit = await limiter.acquire('shared', { requests: 1, inputTokens: input, outputTokens: 0 }, { maxWaitMs: Math.max(0, deadline - Date.now()) });
        admitted.push({ at: Date.now(), input });
        setTimeout(() => permit.settle({ kind: 'served', actual: { inputTokens: input, outputTokens: 0 } }), 5);
      } catch {
        refused++;
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await limiter.close();
  redis.disconnect();
  process.stdout.write(`${JSON.stringify({ pid: process.pid, admitted, refused, errors })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
