import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The request parameters were refused locally, before anything was sent: a malformed field, input
 * over the configured size limit, or (when configured) a suspected prompt injection.
 */
export class InputRejectedError extends ResilientClaudeError {
  /** Path of the offending field, e.g. `'messages[2].content'` or `'max_tokens'`. */
  readonly field: string;
  /** Why it was refused: `'invalid'`, `'too_large'` or `'suspicious'`. */
  readonly reason: 'invalid' | 'too_large' | 'suspicious';

  constructor(field: string, reason: 'invalid' | 'too_large' | 'suspicious', message: string) {
    super('INPUT_REJECTED', `Request rejected locally (${field}): ${message}`);
    this.field = field;
    this.reason = reason;
  }
}
