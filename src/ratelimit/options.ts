/**
 * Options of {@link RateLimiter}, their defaults and their validation.
 *
 * @module
 */
import { ConfigError } from '../errors/config-error';
import { type SharedBucketStore } from './store';
import { type RateLimitEvent } from './types';

/** Explicit per-minute ceilings, per scope. Headers can only lower them. */
export interface RateLimitCeilings {
  /** Requests per minute. */
  rpm?: number;
  /** Input tokens per minute (cache reads excluded, like Anthropic's cache-aware ITPM). */
  itpm?: number;
  /** Output tokens per minute. */
  otpm?: number;
}

/** Options of the rate-limit engine. */
export interface RateLimiterOptions {
  /**
   * `'auto'`: learn capacities and rates from response headers; before a scope's first headers only
   * `startupConcurrency` calls may be in flight and dimensions without a ceiling are not accounted
   * (a configured ceiling is a known bound, so it is enforced from the start). If the responses never
   * carry `anthropic-ratelimit-*` headers (e.g. a proxy strips them), the startup cap is lifted after
   * three successful responses without any (event `headersMissing`, one warning per process): from then
   * on only `maxConcurrent`, configured ceilings and 429s (`retry-after`) bound the scope. Set
   * `'explicit'` limits there to keep a client-side budget of requests and tokens.
   * `'explicit'`: start from `limits` at once (no startup window); headers still refine (and can only
   * lower) them, and fill in dimensions without a ceiling.
   */
  mode: 'auto' | 'explicit';
  /** Ceilings per scope (per minute). Default: none. */
  limits?: RateLimitCeilings;
  /** In-flight cap per scope, per process. Default `Infinity`. */
  maxConcurrent?: number;
  /** Waiting calls per scope (per process) before {@link RateLimitQueueFullError}. Default `1000`. */
  maxQueue?: number;
  /** Longest wait for capacity, ms, before {@link RateLimitWaitExceededError}. Default `Infinity`. */
  maxWaitMs?: number;
  /**
   * 'auto' mode, before a scope's first rate-limit headers: at most this many calls in flight (per
   * process). Default `4`: the limits are unknown (a new organization may allow only 50 requests
   * and a few thousand output tokens per minute), so a cold start must not fire a burst that 429s
   * everyone; four calls give some parallelism, stay within any tier's burst capacity, and the first
   * response's headers end the window (or, when responses carry none, the third successful one).
   */
  startupConcurrency?: number;
  /** Shared buckets (e.g. {@link RedisBucketStore}). Default: in-process buckets only. */
  store?: SharedBucketStore;
  /**
   * When the store fails or does not answer: `'local'` (default) falls back to the in-process
   * buckets (event `redisError`) and returns to the store when it answers again (`redisRecovered`);
   * `'fail'` rejects calls with {@link RateLimitStoreUnavailableError} meanwhile.
   */
  onRedisError?: 'local' | 'fail';
  /** Clock, epoch ms. Default `Date.now`. Waiting uses real timers: the clock must move with them (or use fake timers). */
  now?: () => number;
  /** Observer of {@link RateLimitEvent}s; exceptions it throws are swallowed. */
  onEvent?: (event: RateLimitEvent) => void;
  /** How often to check whether a failed store answers again, ms. Default `1000`. */
  storeProbeIntervalMs?: number;
  /** Longest pause between two reservation attempts against the store while waiting, ms. Default `1000`. */
  storePollMaxMs?: number;
}

/** Options with defaults applied. @internal */
export interface ResolvedOptions {
  mode: 'auto' | 'explicit';
  ceilings: readonly [number, number, number];
  maxConcurrent: number;
  maxQueue: number;
  maxWaitMs: number;
  startupConcurrency: number;
  store: SharedBucketStore | undefined;
  onRedisError: 'local' | 'fail';
  now: () => number;
  onEvent: ((event: RateLimitEvent) => void) | undefined;
  storeProbeIntervalMs: number;
  storePollMaxMs: number;
}

const PATH = 'rateLimit';

function positive(name: string, value: number | undefined, fallback: number, opts: { integer?: boolean; allowZero?: boolean; allowInfinity?: boolean }): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (opts.allowZero ? value >= 0 : value > 0) &&
    (value === Infinity ? opts.allowInfinity === true : Number.isFinite(value) && (!opts.integer || Number.isInteger(value)));
  if (!ok) {
    const what = `${opts.allowZero ? 'a non-negative' : 'a positive'} ${opts.integer ? 'integer' : 'number'}${opts.allowInfinity ? ' or Infinity' : ''}`;
    throw new ConfigError(`${PATH}.${name}`, what, `got ${String(value)}`);
  }
  return value;
}

/** Validate and apply defaults. Throws {@link ConfigError} naming the option at fault. @internal */
export function resolveOptions(opts: RateLimiterOptions): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null) throw new ConfigError(PATH, 'an options object');
  if (opts.mode !== 'auto' && opts.mode !== 'explicit') throw new ConfigError(`${PATH}.mode`, "'auto' or 'explicit'", `got ${String(opts.mode)}`);
  const limits = opts.limits ?? {};
  if (typeof limits !== 'object' || limits === null) throw new ConfigError(`${PATH}.limits`, 'an object { rpm?, itpm?, otpm? }');
  const ceilings: [number, number, number] = [
    positive('limits.rpm', limits.rpm, Infinity, { allowInfinity: true }),
    positive('limits.itpm', limits.itpm, Infinity, { allowInfinity: true }),
    positive('limits.otpm', limits.otpm, Infinity, { allowInfinity: true }),
  ];
  const onRedisError = opts.onRedisError ?? 'local';
  if (onRedisError !== 'local' && onRedisError !== 'fail') throw new ConfigError(`${PATH}.onRedisError`, "'local' or 'fail'", `got ${String(onRedisError)}`);
  if (opts.now !== undefined && typeof opts.now !== 'function') throw new ConfigError(`${PATH}.now`, 'a function returning epoch ms');
  if (opts.onEvent !== undefined && typeof opts.onEvent !== 'function') throw new ConfigError(`${PATH}.onEvent`, 'a function');
  const store = opts.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.reserve !== 'function')) {
    throw new ConfigError(`${PATH}.store`, 'a SharedBucketStore (e.g. new RedisBucketStore(redis))');
  }
  return {
    mode: opts.mode,
    ceilings,
    maxConcurrent: positive('maxConcurrent', opts.maxConcurrent, Infinity, { integer: true, allowInfinity: true }),
    maxQueue: positive('maxQueue', opts.maxQueue, 1000, { integer: true, allowZero: true, allowInfinity: true }),
    maxWaitMs: positive('maxWaitMs', opts.maxWaitMs, Infinity, { allowZero: true, allowInfinity: true }),
    startupConcurrency: positive('startupConcurrency', opts.startupConcurrency, 4, { integer: true }),
    store,
    onRedisError,
    now: opts.now ?? Date.now,
    onEvent: opts.onEvent,
    storeProbeIntervalMs: positive('storeProbeIntervalMs', opts.storeProbeIntervalMs, 1000, {}),
    storePollMaxMs: positive('storePollMaxMs', opts.storePollMaxMs, 1000, {}),
  };
}
