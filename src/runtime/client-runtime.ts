import type { Redis } from 'ioredis';
import { BreakerRegistry } from '../breaker/breaker-registry';
import { CostTracker } from '../cost/cost-tracker';
import { EventHub, type BreakerStateChangeEvent, type CallRecord } from '../events';
import type { ProbeState } from '../health';
import { KeyPool } from '../keys';
import type { RateLimitOptions } from '../options/rate-limit-options';
import type { LogSink, ResolvedLogging } from '../logging';
import { ClientMetrics, type BudgetInput, type ClientMetricsOptions } from '../metrics';
import { resolveBreaker, type ResilientClaudeOptions, type ResolvedBreakerOptions } from '../options';
import { RateLimiter, RedisBucketStore } from '../ratelimit';
import { openOwnedConnection } from '../redis/owned-connection';
import { BatchQueue, type BatchApi } from '../batch/batch-queue';
import { RedisBatchStore } from '../batch/redis-batch-store';
import { resolveBatchOptions } from '../options/batch-options';
import { ConfigError } from '../errors/config-error';
import { randomBytes } from 'node:crypto';

/** What `health()` reports beside the layers' own state: calls in flight, the last error, the probe. */
export interface HealthFacts {
  lastError: { errorClass: string; at: number; status?: number } | undefined;
  inFlight: number;
  probe: ProbeState | undefined;
  probeTimer: ReturnType<typeof setInterval> | undefined;
}

/**
 * Everything a client holds beside the SDK: breakers, cost ledger and budgets, rate limiter, key pool,
 * metrics, listeners, logger, the Redis connection it owns, health facts. A `withOptions()` child shares
 * its parent's runtime, part by part, except for the parts whose option it overrides.
 *
 * Construction stays cheap: the metrics registry is built on first use (a scrape or the first call
 * record), the logger on the first record at an enabled level, the price table at the first pricing.
 */
export class ClientRuntime {
  readonly events: EventHub;
  readonly breakerConfig: ResolvedBreakerOptions;
  readonly breakers: BreakerRegistry | undefined;
  readonly costs: CostTracker | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly keys: KeyPool | undefined;
  /** The Redis connection opened from a URL (closed by `close()`), if any. */
  readonly ownedRedis: Redis | undefined;
  readonly health: HealthFacts;
  readonly #metrics: { instance: ClientMetrics | undefined; readonly options: ClientMetricsOptions | false };
  readonly #batch: BatchHolder;
  readonly #hasRedis: boolean;

  constructor(
    readonly logging: ResolvedLogging,
    options: ResilientClaudeOptions,
    parent: ClientRuntime | undefined,
    overrides: Partial<ResilientClaudeOptions> | undefined,
  ) {
    const own = (...keys: (keyof ResilientClaudeOptions)[]) => parent === undefined || keys.some((key) => key in overrides!);
    const sink = logging.sink;
    this.events =
      parent?.events ??
      new EventHub((event, error) =>
        sink.log('error', { event, error: error instanceof Error ? error.message : String(error) }, 'event listener threw'),
      );
    this.ownedRedis = own('redis') ? (typeof options.redis === 'string' ? openOwnedConnection(options.redis, sink) : undefined) : parent!.ownedRedis;
    const redis = this.ownedRedis ?? (typeof options.redis === 'string' ? undefined : options.redis);
    this.#hasRedis = redis !== undefined;

    this.breakerConfig = resolveBreaker(options);
    this.breakers = own('circuitBreaker')
      ? this.breakerConfig.enabled
        ? new BreakerRegistry(this.breakerConfig, (event) => this.#onBreakerChange(event))
        : undefined
      : parent!.breakers;
    this.costs = own('cost', 'redis')
      ? options.cost === false
        ? undefined
        : new CostTracker(options.cost ?? {}, {
            events: this.events,
            log: sink,
            ...(redis ? { redis } : {}),
            ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
            ...(options.onRedisError ? { onRedisError: options.onRedisError } : {}),
          })
      : parent!.costs;
    const rateLimit = options.rateLimit ?? 'auto';
    this.limiter = own('rateLimit', 'redis')
      ? rateLimit === false
        ? undefined
        : createLimiter(rateLimit === 'auto' ? {} : rateLimit, this.events, sink, redis, options)
      : parent!.limiter;
    this.keys = own('apiKeys', 'keyStrategy', 'sharedLimits', 'quarantineMs')
      ? options.apiKeys
        ? new KeyPool({ ...options, apiKeys: options.apiKeys })
        : undefined
      : parent!.keys;
    this.health = parent?.health ?? { lastError: undefined, inFlight: 0, probe: undefined, probeTimer: undefined };
    // Clones share their parent's queue: one set of batches, and one place that collects them.
    this.#batch = parent ? parent.#batch : {
      queue: undefined,
      api: undefined,
      make: (api) => {
        const resolved = resolveBatchOptions(options.batch);
        const store = redis
          ? new RedisBatchStore(redis, options.redisPrefix ?? 'rc:', `${process.pid}:${randomBytes(6).toString('hex')}`, resolved.claimMs)
          : undefined;
        const costs = this.costs;
        return new BatchQueue(api, resolved, {
          events: this.events,
          log: sink,
          store,
          ...(costs ? { onRecovered: (call) => costs.recordRecovered(call) } : {}),
        });
      },
    };

    if (own('metrics')) {
      this.#metrics = { instance: undefined, options: options.metrics === false ? false : (options.metrics ?? {}) };
      // A registry the caller gave is filled now (and a clash in it reported now); our own when needed.
      if (this.#metrics.options && this.#metrics.options.registry) void this.metrics;
      if (this.#metrics.options) {
        this.events.on('callComplete', (record) => this.metrics!.onCallComplete(record));
        this.events.on('retry', (event) => this.metrics!.onRetry(event));
        this.events.on('breakerStateChange', (event) => this.metrics!.onBreakerStateChange(event));
      }
    } else {
      this.#metrics = parent!.#metrics;
    }
  }

  /** The client's metrics, built on first use; undefined with `metrics: false`. */
  get metrics(): ClientMetrics | undefined {
    const holder = this.#metrics;
    if (holder.instance || holder.options === false) return holder.instance;
    const metrics = new ClientMetrics(holder.options);
    const { health, breakers, limiter, costs } = this;
    metrics.setCollectors({
      activeRequests: () => health.inFlight,
      batchPending: () => {
        const pending = this.batchesPending();
        return pending ? pending.gathered + pending.calls : 0;
      },
      ...(breakers ? { breakers: () => breakers.snapshot() } : {}),
      ...(limiter ? { rateLimit: () => limiter.snapshot() } : {}),
      ...(costs?.budget ? { budget: () => budgetInput(costs) } : {}),
    });
    holder.instance = metrics;
    return metrics;
  }

  /** Hands the runtime the batch endpoints of its first client (clones reuse them). */
  attachBatchApi(api: () => BatchApi): void {
    this.#batch.api ??= api;
  }

  /** The batch queue, built when the first `batch: true` call (or `resume()`) needs it. */
  batchQueue(): BatchQueue {
    const holder = this.#batch;
    holder.queue ??= holder.make(holder.api ?? missingBatchApi);
    return holder.queue;
  }

  /** The batch queue's counts, if it was ever used (for `health()`). */
  batchesPending(): { readonly gathered: number; readonly batches: number; readonly calls: number } | undefined {
    return this.#batch.queue?.pending;
  }

  /** Whether pending batches are kept in Redis (a `redis` option). */
  get batchesPersisted(): boolean {
    return this.#hasRedis;
  }

  /** Counts a call in flight (its record takes it out again). */
  onCallStart(): void {
    this.health.inFlight++;
  }

  /** Every completed call record: in-flight count and the last error, for `health()`. */
  onRecord(record: CallRecord): void {
    const health = this.health;
    if (!record.batched) health.inFlight = Math.max(0, health.inFlight - 1);
    if (!record.ok && record.errorClass) {
      health.lastError = { errorClass: record.errorClass, at: Date.now(), ...(record.status !== undefined ? { status: record.status } : {}) };
    }
  }

  /** Releases everything at once: waiting calls, the probe timer, Redis connections, the metrics registry. */
  async close(): Promise<void> {
    if (this.health.probeTimer) clearInterval(this.health.probeTimer);
    this.health.probeTimer = undefined;
    this.breakers?.shutdown();
    // Batches first: with Redis, calls not yet sent are sent and recorded before the connection goes.
    await this.#batch.queue?.close();
    await Promise.all([this.costs?.close(), this.limiter?.close()]);
    this.#metrics.instance?.unregister();
    const redis = this.ownedRedis;
    if (redis) await redis.quit().catch(() => redis.disconnect());
  }

  #onBreakerChange(event: BreakerStateChangeEvent): void {
    const message = `circuit breaker ${event.scope}: ${event.from} -> ${event.to}`;
    this.logging.sink.log(event.to === 'closed' ? 'info' : 'warn', { ...event }, message);
    this.events.emit('breakerStateChange', event);
  }
}

/** The client's batch queue, built on first use. */
interface BatchHolder {
  queue: BatchQueue | undefined;
  api: (() => BatchApi) | undefined;
  readonly make: (api: () => BatchApi) => BatchQueue;
}

function missingBatchApi(): BatchApi {
  throw new ConfigError('batch', 'a client to send batches through (the queue was used before any client was built)');
}

let warnedHeadersMissing = false;

/** Builds the rate limiter from the `rateLimit` option. */
function createLimiter(
  options: RateLimitOptions,
  events: EventHub,
  log: LogSink,
  redis: Redis | undefined,
  client: ResilientClaudeOptions,
): RateLimiter {
  const explicit = options.rpm !== undefined || options.itpm !== undefined || options.otpm !== undefined;
  return new RateLimiter({
    mode: explicit ? 'explicit' : 'auto',
    limits: {
      ...(options.rpm !== undefined ? { rpm: options.rpm } : {}),
      ...(options.itpm !== undefined ? { itpm: options.itpm } : {}),
      ...(options.otpm !== undefined ? { otpm: options.otpm } : {}),
    },
    ...(options.maxConcurrent !== undefined ? { maxConcurrent: options.maxConcurrent } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.startupConcurrency !== undefined ? { startupConcurrency: options.startupConcurrency } : {}),
    ...(redis ? { store: new RedisBucketStore(redis, { keyPrefix: `${client.redisPrefix ?? 'rc:'}rl:` }) } : {}),
    onRedisError: client.onRedisError ?? 'local',
    onEvent: (event) => {
      switch (event.type) {
        case 'rateLimited':
          log.log('debug', { ...event }, 'waiting for rate-limit capacity');
          events.emit('rateLimited', { scope: event.scope, dimension: event.dimension, waitMs: event.waitMs });
          return;
        case 'paused':
          log.log('warn', { scope: event.scope, untilMs: event.untilMs }, 'rate limit reached: scope paused until retry-after');
          return;
        case 'headersMissing':
          if (warnedHeadersMissing) return;
          warnedHeadersMissing = true; // once per process: it is a fact about the deployment, not a client
          log.log(
            'warn',
            { scope: event.scope, responses: event.responses },
            "responses carry no anthropic-ratelimit-* headers (a proxy may strip them): 'auto' rate limiting lifts its start-up concurrency cap and only honours 429 retry-after; set rateLimit: { rpm, itpm, otpm } for client-side limits",
          );
          return;
        case 'limitsLearned':
          log.log('debug', { scope: event.scope, limits: event.limits }, 'rate limits learned from response headers');
          return;
        case 'redisError':
          log.log('warn', { component: 'rateLimit', error: event.message }, 'Redis unreachable: rate limits fall back to this process');
          events.emit('redisError', { component: 'rateLimit', message: event.message });
          return;
        case 'redisRecovered':
          log.log('info', { component: 'rateLimit' }, 'Redis answers again: rate limits are shared again');
          events.emit('redisRecovered', { component: 'rateLimit' });
          return;
      }
    },
  });
}

/** The budget figures the metrics need. */
function budgetInput(costs: CostTracker): BudgetInput | undefined {
  const state = costs.budget?.state();
  return state ? { remainingUsd: state.remainingUsd, limitUsd: state.limitUsd } : undefined;
}
