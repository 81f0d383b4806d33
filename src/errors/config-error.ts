import { ResilientClaudeError } from './resilient-claude-error';

/**
 * A constructor option has a wrong value. Thrown by `new ResilientClaude()` (and `withOptions()`)
 * before any request is made.
 */
export class ConfigError extends ResilientClaudeError {
  /** Dotted path of the option at fault, e.g. `'retry.maxDelayMs'`. */
  readonly option: string;
  /** What was expected, in words, e.g. `'a non-negative integer'`. */
  readonly expected: string;

  constructor(option: string, expected: string, detail?: string) {
    super('CONFIG', `Invalid option \`${option}\`: expected ${expected}${detail ? ` (${detail})` : ''}.`);
    this.option = option;
    this.expected = expected;
  }
}
