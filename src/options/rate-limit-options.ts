/** The `rateLimit` option (object form). */
export interface RateLimitOptions {
  /** Requests per minute ceiling. Headers can only lower it. Giving any of rpm/itpm/otpm selects explicit mode. */
  rpm?: number;
  /** Input tokens per minute ceiling. */
  itpm?: number;
  /** Output tokens per minute ceiling. */
  otpm?: number;
  /** In-flight requests per scope (per process). Default: no cap. */
  maxConcurrent?: number;
  /** Calls waiting per scope (per process) before `RateLimitQueueFullError`. Default 1000. */
  maxQueue?: number;
  /** Longest wait for capacity before `RateLimitWaitExceededError`. Default: no limit (the deadline bounds it). */
  maxWaitMs?: number;
  /**
   * Output tokens to reserve per call: `'max_tokens'` (default — what the API itself reserves against
   * OTPM, so the only choice that never draws a 429), a fixed number, or a function of the params.
   */
  outputEstimate?: 'max_tokens' | number | ((params: unknown) => number);
  /** Cache reads do not count toward input tokens (most models' ITPM is cache-aware). Default true. */
  cacheAwareInput?: boolean;
  /** Buckets per requested model (`'model'`, default: Anthropic limits per model class) or one for the client. */
  scope?: 'model' | 'client';
  /** `'auto'` mode, before a scope's first rate-limit headers: most calls in flight. Default 4. */
  startupConcurrency?: number;
}
