import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The call needs more than a whole bucket holds (e.g. 300k estimated input tokens against a 200k
 * ITPM limit), so it could never be admitted. Refused at once rather than queued forever. Shrink the
 * request (or `max_tokens`), or raise the limit.
 */
export class RateLimitCapacityError extends ResilientClaudeError {
  /** The rate-limit scope (e.g. a model class). */
  readonly scope: string;
  /** The bucket that is too small. */
  readonly dimension: 'requests' | 'inputTokens' | 'outputTokens';
  /** What the call asked for in that dimension. */
  readonly requested: number;
  /** The bucket's capacity. */
  readonly capacity: number;

  constructor(scope: string, dimension: RateLimitCapacityError['dimension'], requested: number, capacity: number) {
    super(
      'RATE_LIMIT_CAPACITY',
      `Rate limit for scope "${scope}": the call needs ${requested} ${describe(dimension)} but the bucket holds ` +
        `at most ${capacity}; it can never be admitted and was not sent.`,
    );
    this.scope = scope;
    this.dimension = dimension;
    this.requested = requested;
    this.capacity = capacity;
  }
}

function describe(dimension: RateLimitCapacityError['dimension']): string {
  if (dimension === 'requests') return 'requests';
  return dimension === 'inputTokens' ? 'input tokens' : 'output tokens';
}
