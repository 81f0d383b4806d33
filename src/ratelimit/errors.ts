/**
 * Errors of the rate-limit engine that are not part of the library-wide catalogue in `src/errors/`:
 * the limiter was closed, or the shared (Redis) store could not be used in `onRedisError: 'fail'` mode.
 *
 * @module
 */
import { ResilientClaudeError } from '../errors/resilient-claude-error';

/** The rate limiter was closed (client shut down) while the call waited, or before it asked. */
export class RateLimiterClosedError extends ResilientClaudeError {
  /** The rate-limit scope of the refused call. */
  readonly scope: string;

  constructor(scope: string) {
    super('RATE_LIMITER_CLOSED', `Rate limiter is closed; the call in scope "${scope}" was not sent.`);
    this.scope = scope;
  }
}

/**
 * The shared rate-limit store (Redis) could not be used and `onRedisError` is `'fail'`. Nothing was
 * sent. The store's own error is on `lastError` (deliberately not `cause`, and not in the message).
 */
export class RateLimitStoreUnavailableError extends ResilientClaudeError {
  /** The rate-limit scope of the refused call. */
  readonly scope: string;
  /** The store's failure, when there was one. */
  readonly lastError: unknown;

  constructor(scope: string, lastError?: unknown) {
    super(
      'RATE_LIMIT_STORE_UNAVAILABLE',
      `Shared rate-limit store (Redis) is unavailable and onRedisError is 'fail'; the call in scope "${scope}" was not sent.`,
    );
    this.scope = scope;
    this.lastError = lastError;
  }
}
