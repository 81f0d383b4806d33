import type { InjectionPattern } from '../sanitize';

/** The `sanitize` option. */
export interface SanitizeOptions {
  /**
   * What to do when text matches a prompt-injection heuristic: `'warn'` (default: log the pattern name
   * and location — never the text — emit `suspiciousInput`, send anyway), `'reject'` (refuse with
   * `InputRejectedError`), or `'ignore'` (do not scan).
   */
  onSuspicious?: 'warn' | 'reject' | 'ignore';
  /** The injection heuristics. Default: the built-in set (`DEFAULT_INJECTION_PATTERNS`). */
  patterns?: readonly InjectionPattern[];
  /** Scan `assistant` turns too. Default false (they are usually the model's own output). */
  scanAssistant?: boolean;
  /**
   * Refuse (never truncate) text input longer than this many characters. Inline images and PDFs do not
   * count (see `maxRequestBytes`). Default 10,000,000.
   */
  maxInputChars?: number;
  /**
   * Refuse a Messages or count_tokens request whose encoded body is larger than this many bytes — the
   * API's own limit, so the call fails at once instead of uploading it to get a 413. Default 32 MiB.
   */
  maxRequestBytes?: number;
  /** Refuse input estimated above this many tokens. Default: no limit (the API enforces the context window). */
  maxInputTokens?: number;
  /**
   * Check locally the fields the library relies on — `model`, `max_tokens`, `messages` — and refuse a
   * malformed call with `InputRejectedError` naming the field, before a request, a rate-limit token or a
   * budget reservation is spent. Default true. Everything else is left to the API.
   */
  validate?: boolean;
}
