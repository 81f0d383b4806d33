/**
 * The rate-limit engine: token buckets for RPM / ITPM / OTPM per scope, learned from Anthropic's
 * `anthropic-ratelimit-*` headers, with a priority wait queue and optional Redis-shared buckets.
 * The client's `rateLimit` middleware layer calls this; nothing here knows about HTTP requests
 * beyond headers.
 *
 * @module
 */
export { RateLimiter } from './rate-limiter';
export type { RateLimiterOptions, RateLimitCeilings } from './options';
export { RedisBucketStore, RedisNoAnswerError, type RedisBucketStoreOptions } from './redis-store';
export type { SharedBucketStore, BucketSeed, ScopeSeed, BucketSyncUpdate, StoreReserveResult } from './store';
export { estimateInputTokens, estimateDemand, textTokens } from './estimate';
export { parseRateLimitHeaders, deriveWindowMs } from './header-sync';
export { RateLimiterClosedError, RateLimitStoreUnavailableError } from './errors';
export { RateLimitQueueFullError } from '../errors/rate-limit-queue-full-error';
export { RateLimitWaitExceededError } from '../errors/rate-limit-wait-exceeded-error';
export { RateLimitCapacityError } from '../errors/rate-limit-capacity-error';
export {
  DIMENSIONS,
  type Demand,
  type Dimension,
  type WaitReason,
  type AcquireOptions,
  type ActualUsage,
  type SettleResult,
  type Permit,
  type LearnedLimit,
  type RateLimitEvent,
  type DimensionSnapshot,
  type ScopeSnapshot,
  type ParsedBucketHeaders,
  type ParsedLimits,
} from './types';
