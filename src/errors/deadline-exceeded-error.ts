import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The call's overall deadline (queueing + every attempt + backoff sleeps) passed before it could
 * complete. `lastError` is the failure of the last attempt, when there was one.
 */
export class DeadlineExceededError extends ResilientClaudeError {
  /** The deadline that applied, in ms from the start of the call. */
  readonly deadlineMs: number;
  /** Attempts sent before the deadline passed. */
  readonly attempts: number;
  /** The last attempt's error, if an attempt failed before the deadline. */
  readonly lastError: unknown;

  constructor(deadlineMs: number, attempts: number, lastError?: unknown) {
    super('DEADLINE_EXCEEDED', `Call deadline of ${deadlineMs} ms exceeded after ${attempts} attempt(s).`);
    this.deadlineMs = deadlineMs;
    this.attempts = attempts;
    this.lastError = lastError;
  }
}
