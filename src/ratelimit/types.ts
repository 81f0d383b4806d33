/**
 * Public types of the rate-limit engine: demands, permits, events and snapshots.
 *
 * @module
 */

/** What one call needs from a scope's three buckets. All values are non-negative finite numbers. */
export interface Demand {
  /** Requests (normally 1). */
  requests: number;
  /** Estimated input tokens that count toward ITPM (see {@link estimateInputTokens}). */
  inputTokens: number;
  /** Output tokens to reserve: the request's `max_tokens` (the server reserves it too). */
  outputTokens: number;
}

/** One of the three buckets Anthropic limits on. */
export type Dimension = 'requests' | 'inputTokens' | 'outputTokens';

/** The three dimensions, in the fixed order used by arrays and Lua scripts. */
export const DIMENSIONS: readonly Dimension[] = ['requests', 'inputTokens', 'outputTokens'];

/** Why a call is waiting: a bucket, the in-flight cap, a 429 pause, or other callers ahead of it. */
export type WaitReason = Dimension | 'concurrency' | 'pause' | 'queue';

/** Per-call options of {@link RateLimiter.acquire}. */
export interface AcquireOptions {
  /** Higher goes first; equal priorities are served in arrival order. Default `0`. */
  priority?: number;
  /** Aborting removes a waiting call at once; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Overrides {@link RateLimiterOptions.maxWaitMs} for this call. `0` means "only if free now". */
  maxWaitMs?: number;
}

/** Actual usage of a served call, for reconciliation. */
export interface ActualUsage {
  /** Input tokens that count toward ITPM: `input_tokens + cache_creation_input_tokens` (cache reads excluded). */
  inputTokens: number;
  /** `output_tokens` from the final usage (for streams, from `message_delta`). */
  outputTokens: number;
}

/**
 * How a permitted call ended.
 *
 * - `served`: the server processed it; buckets are corrected to `actual` (refund or extra charge).
 * - `rejected`: the server refused it (429): everything reserved is given back.
 * - `failed`: transport error or 5xx: the request and input tokens stay charged (the server may well
 *   have counted them), the output reservation is given back (a failed call produces no billed
 *   output the server keeps reserved). Pass `actual` when part of the usage is known (e.g. a stream
 *   cut after `message_start`): the known dimensions are then reconciled like `served`.
 */
export type SettleResult =
  | { kind: 'served'; actual: ActualUsage }
  | { kind: 'rejected' }
  | { kind: 'failed'; actual?: Partial<ActualUsage> };

/** The right to send one request. Settle it exactly once when the call ends (later calls are ignored). */
export interface Permit {
  /** The scope it was admitted in. */
  readonly scope: string;
  /** What was reserved. */
  readonly demand: Demand;
  /** Time spent waiting in the queue, ms (0 on the fast path). */
  readonly waitedMs: number;
  /**
   * Give back or charge the difference between the reservation and what the call really used, and
   * free the in-flight slot. Exactly once; later calls are ignored.
   */
  settle(result: SettleResult): void;
}

/** Limits of one dimension as learned or configured, for {@link RateLimitEvent} `limitsLearned`. */
export interface LearnedLimit {
  /** Bucket capacity (the server's `limit`, capped by the configured ceiling). */
  capacity: number;
  /** Refill rate in units per second. */
  refillPerSec: number;
}

/** Events emitted through {@link RateLimiterOptions.onEvent}. A throwing listener is ignored. */
export type RateLimitEvent =
  | {
      type: 'rateLimited';
      scope: string;
      /** What the call waits for. */
      dimension: WaitReason;
      /** Expected wait in ms; `Infinity` when it depends on another call finishing. */
      waitMs: number;
    }
  | { type: 'paused'; scope: string; untilMs: number }
  | { type: 'limitsLearned'; scope: string; limits: Partial<Record<Dimension, LearnedLimit>> }
  /** 'auto' mode saw `responses` successful responses with no rate-limit header: the start-up cap is lifted. */
  | { type: 'headersMissing'; scope: string; responses: number }
  | { type: 'redisError'; message: string }
  | { type: 'redisRecovered' };

/** One bucket in a {@link ScopeSnapshot}. */
export interface DimensionSnapshot {
  /** Capacity; `Infinity` while the dimension is not accounted (unknown and no ceiling). */
  capacity: number;
  /** Current level (may be negative: debt after an actual usage above the reservation). */
  available: number;
  /** Refill rate, units per second. */
  refillPerSec: number;
  /** Whether the capacity comes from response headers (as opposed to a ceiling, or nothing). */
  known: boolean;
}

/** State of one scope, from {@link RateLimiter.snapshot}. */
export interface ScopeSnapshot {
  /** The three buckets (the in-process view; in Redis mode the local mirror). */
  dimensions: Record<Dimension, DimensionSnapshot>;
  /** Calls waiting in this process. */
  queueDepth: number;
  /** Permits admitted and not yet settled, in this process. */
  inFlight: number;
  /**
   * Current in-flight cap: `maxConcurrent`, or in 'auto' mode `startupConcurrency` until the first
   * headers — or until a few responses came without any (a proxy stripped them), when it is lifted.
   */
  concurrencyLimit: number;
  /** Whether response headers have been seen for this scope. */
  learned: boolean;
  /** Epoch ms until which the scope is paused (429 `retry-after`), or `null`. */
  pausedUntil: number | null;
  /** Where admissions are decided right now. */
  store: 'local' | 'redis';
}

/** The `-limit`, `-remaining`, `-reset` triple of one `anthropic-ratelimit-*` bucket. */
export interface ParsedBucketHeaders {
  /** Capacity (`-limit`). */
  limit: number;
  /** Current level as the server reported it (`-remaining`; possibly rounded down). */
  remaining: number;
  /** When the bucket will be full again, as epoch ms on the LOCAL clock (skew removed); undefined if absent. */
  resetMs: number | undefined;
  /** Half-width of the uncertainty of `resetMs − now`, ms (second-precision timestamps). */
  resetUncertaintyMs: number;
}

/** Everything {@link parseRateLimitHeaders} found in one response. */
export interface ParsedLimits {
  /** `anthropic-ratelimit-requests-*`. */
  requests?: ParsedBucketHeaders;
  /** `anthropic-ratelimit-input-tokens-*`. */
  inputTokens?: ParsedBucketHeaders;
  /** `anthropic-ratelimit-output-tokens-*`. */
  outputTokens?: ParsedBucketHeaders;
  /** `anthropic-ratelimit-tokens-*` (the most restrictive token limit; used only as a stand-in). */
  tokens?: ParsedBucketHeaders;
  /** Server clock minus local clock, ms, estimated from the `date` header (0 without it). */
  skewMs: number;
  /** Whether a valid `date` header was used for `skewMs`. */
  usedDateHeader: boolean;
  /** From `retry-after-ms`, else `retry-after` (seconds or HTTP date); undefined if absent. */
  retryAfterMs: number | undefined;
}
