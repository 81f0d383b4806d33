import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The call waited for rate-limit capacity longer than its `maxWaitMs` allows (or `maxWaitMs` was
 * `0` and there was no capacity at once). Nothing was sent. `waitingFor` says what held it back.
 */
export class RateLimitWaitExceededError extends ResilientClaudeError {
  /** The rate-limit scope (e.g. a model class). */
  readonly scope: string;
  /** What the call was waiting for: a bucket, the in-flight cap, a 429 pause, or calls ahead of it. */
  readonly waitingFor: 'requests' | 'inputTokens' | 'outputTokens' | 'concurrency' | 'pause' | 'queue';
  /** How long it waited, ms. */
  readonly waitedMs: number;
  /** The bound that applied, ms. */
  readonly maxWaitMs: number;
  /** Calls still waiting in the scope's queue when this one gave up. */
  readonly queueDepth: number;
  /** Expected further ms until it would have been admitted, when known. */
  readonly retryAfterMs: number | undefined;

  constructor(
    scope: string,
    waitingFor: RateLimitWaitExceededError['waitingFor'],
    waitedMs: number,
    maxWaitMs: number,
    queueDepth: number,
    retryAfterMs?: number,
  ) {
    super(
      'RATE_LIMIT_WAIT_EXCEEDED',
      `Rate limit for scope "${scope}": no capacity within the allowed wait of ${maxWaitMs} ms ` +
        `(waited ${Math.round(waitedMs)} ms, held back by ${waitingFor}); the call was not sent.`,
    );
    this.scope = scope;
    this.waitingFor = waitingFor;
    this.waitedMs = waitedMs;
    this.maxWaitMs = maxWaitMs;
    this.queueDepth = queueDepth;
    this.retryAfterMs = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.ceil(retryAfterMs) : undefined;
  }
}
