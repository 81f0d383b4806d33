import { ResilientClaudeError } from './resilient-claude-error';

/**
 * An option has a wrong value, or a name that is a misspelling of one of ours. Thrown by
 * `new ResilientClaude()`, `withOptions()` and `callOptions()` before any request is made.
 */
export class ConfigError extends ResilientClaudeError {
  /** Dotted path of the option at fault, e.g. `'retry.maxDelayMs'`. */
  readonly option: string;
  /** What was expected, in words, e.g. `'a non-negative integer'`. */
  readonly expected: string;
  /** For a misspelled option name: the option it was probably meant to be. */
  readonly suggestion: string | undefined;

  constructor(option: string, expected: string, detail?: string) {
    super('CONFIG', `Invalid option \`${option}\`: expected ${expected}${detail ? ` (${detail})` : ''}.`);
    this.option = option;
    this.expected = expected;
    this.suggestion = undefined;
  }

  /** The error for an option name that differs from one of ours only by case or one edit. */
  static misspelled(option: string, meant: string): ConfigError {
    // `this`, not the class by name: a class that names itself is renamed in the bundle (tsup.config.mts).
    const error = new this(option, `the option \`${meant}\``);
    error.message = `Unknown option \`${option}\`: did you mean \`${meant}\`?`;
    (error as { suggestion: string | undefined }).suggestion = meant;
    return error;
  }
}
