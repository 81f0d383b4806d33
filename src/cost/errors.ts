import { ResilientClaudeError } from '../errors/resilient-claude-error';

/**
 * The shared cost store (Redis) could not be reached and the store is configured with
 * `onRedisError: 'fail'`: the call is refused rather than admitted against a per-process budget.
 *
 * The original error is kept on `lastError`, never on `cause` and never in the message (an ioredis
 * "Command timed out" text would otherwise trip the SDK's retryable-timeout heuristic).
 */
export class CostStoreUnavailableError extends ResilientClaudeError {
  /** The store operation that failed, e.g. `'budget.reserve'`. */
  readonly operation: string;
  /** The underlying Redis/client error. */
  readonly lastError: unknown;

  constructor(operation: string, lastError: unknown) {
    super('COST_STORE_UNAVAILABLE', `The shared cost store (Redis) is unavailable for ${operation}; the call was not sent.`);
    this.operation = operation;
    this.lastError = lastError;
  }
}
