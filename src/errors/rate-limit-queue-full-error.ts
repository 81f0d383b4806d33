import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The rate limiter's wait queue for this scope is full: the call was refused at once, before
 * waiting and before anything was sent. Back off (`retryAfterMs` is the expected wait of the call at
 * the head of the queue, when known) or raise `rateLimit.maxQueue`.
 */
export class RateLimitQueueFullError extends ResilientClaudeError {
  /** The rate-limit scope (e.g. a model class). */
  readonly scope: string;
  /** Calls already waiting in this process for the scope. */
  readonly queueDepth: number;
  /** The configured bound (`maxQueue`). */
  readonly maxQueue: number;
  /** Expected ms until the head of the queue is admitted; `undefined` when it depends on other calls finishing. */
  readonly retryAfterMs: number | undefined;

  constructor(scope: string, queueDepth: number, maxQueue: number, retryAfterMs?: number) {
    super(
      'RATE_LIMIT_QUEUE_FULL',
      `Rate-limit queue for scope "${scope}" is full (${queueDepth} waiting, maxQueue ${maxQueue}); ` +
        'the call was refused without being sent.',
    );
    this.scope = scope;
    this.queueDepth = queueDepth;
    this.maxQueue = maxQueue;
    this.retryAfterMs = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.ceil(retryAfterMs) : undefined;
  }
}
