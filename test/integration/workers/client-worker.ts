/**
 * A separate Node process for the Redis integration tests (spawned with `node --import tsx`): builds its
 * own `ResilientClaude` on a shared Redis and the test's fake server, waits until all WORKERS siblings
 * are loaded (a barrier in Redis, so a slow start on a loaded machine cannot skew the run), runs CALLS
 * calls with CONCURRENCY in flight and prints one JSON line ({@link WorkerReport}).
 *
 * Environment: SERVER_URL, REDIS_URL, PREFIX, CALLS, CONCURRENCY, WORKERS, PROMPT,
 * optional BUDGET_USD (a global day budget), RATE_LIMIT ('auto' | JSON of explicit limits), USER.
 */
import Redis from 'ioredis';
import { BudgetExceededError } from '../../../src/errors/budget-exceeded-error';
import { ResilientClaude } from '../../../src/client';
import type { ResilientClaudeOptions } from '../../../src/options';

/** What a worker prints. */
export interface WorkerReport {
  readonly pid: number;
  readonly ok: number;
  readonly budgetRefused: number;
  /** Any other error, by class name and message. */
  readonly errors: string[];
  readonly redisErrors: string[];
  readonly rateLimitedEvents: number;
  /** `health().rateLimit[model].store` at the end. */
  readonly store: string | undefined;
  /** Settled spend this process recorded in its own ledger (USD, exact decimal). */
  readonly exactUsd: string;
  readonly costRequests: number;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`missing env ${name}`);
  return value;
}

/** Waits until `workers` processes have arrived, then until the common start instant the first to see them all set. */
async function startTogether(url: string, prefix: string, workers: number): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await redis.incr(`${prefix}barrier:ready`);
    while (Number(await redis.get(`${prefix}barrier:ready`)) < workers) await new Promise((resolve) => setTimeout(resolve, 20));
    await redis.set(`${prefix}barrier:start`, String(Date.now() + 200), 'NX');
    const startAt = Number(await redis.get(`${prefix}barrier:start`));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const model = 'claude-sonnet-4-6';
  const budget = process.env['BUDGET_USD'];
  const rateLimit = process.env['RATE_LIMIT'];
  const options: ResilientClaudeOptions = {
    apiKey: 'worker-key',
    baseURL: env('SERVER_URL'),
    logger: false,
    redis: env('REDIS_URL'),
    redisPrefix: env('PREFIX'),
    retry: { baseDelayMs: 1, maxDelayMs: 5, jitter: false },
    ...(budget ? { cost: { budget: { limitUsd: Number(budget), window: 'day' as const } } } : {}),
    ...(rateLimit && rateLimit !== 'auto' ? { rateLimit: JSON.parse(rateLimit) as ResilientClaudeOptions['rateLimit'] } : {}),
  };
  const client = new ResilientClaude(options);
  const redisErrors: string[] = [];
  let rateLimitedEvents = 0;
  client.on('redisError', (e) => redisErrors.push(`${e.component}: ${e.message ?? ''}`));
  client.on('rateLimited', () => rateLimitedEvents++);

  const calls = Number(env('CALLS'));
  const concurrency = Number(env('CONCURRENCY'));
  const prompt = env('PROMPT');
  const user = process.env['USER_ID'];
  await startTogether(env('REDIS_URL'), env('PREFIX'), Number(env('WORKERS')));

  let next = 0;
  let ok = 0;
  let budgetRefused = 0;
  const errors: string[] = [];
  const worker = async () => {
    while (next < calls) {
      next++;
      try {
        await client.messages.create({
          model,
          max_tokens: 64,
          messages: [{ role: 'user', content: prompt }],
          ...(user ? { metadata: { user_id: user } } : {}),
        });
        ok++;
      } catch (error) {
        if (error instanceof BudgetExceededError) budgetRefused++;
        else errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const summary = client.costs!.summary();
  const report: WorkerReport = {
    pid: process.pid,
    ok,
    budgetRefused,
    errors,
    redisErrors,
    rateLimitedEvents,
    store: client.health().rateLimit[model]?.store,
    exactUsd: summary.exactUsd,
    costRequests: summary.requests,
  };
  await client.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
