import type { CallRecord } from '../events';

/**
 * Label value used once a label has reached its cap of distinct values: every new value after the cap
 * is reported as `other`, so a series never grows past `cap + 1` values of that label.
 */
export const OVERFLOW_LABEL = 'other';

/** Label value for "not known" (a call without a model, a record without a status or error class). */
export const NONE_LABEL = 'none';

/** Label value that replaces anything that looks like an API key. */
export const REDACTED_LABEL = 'redacted';

/** Longest label value kept as is; longer values are reported as {@link OVERFLOW_LABEL}. */
export const MAX_LABEL_LENGTH = 128;

/** Looks like an Anthropic (or other `sk-`) secret key; never used as a label value. */
const SECRET_LIKE = /(^|[^a-z0-9])sk-[a-z0-9_-]{8,}/i;

/**
 * Keeps one label's set of values bounded. The first `cap` distinct values pass through; later new
 * values become {@link OVERFLOW_LABEL}. Empty or missing values become {@link NONE_LABEL}, values that look
 * like secret keys become {@link REDACTED_LABEL}, values over {@link MAX_LABEL_LENGTH} characters become
 * {@link OVERFLOW_LABEL}. Memory is bounded by `cap` too.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();

  /** @param cap - Most distinct values reported as themselves (a non-negative integer). */
  constructor(readonly cap: number) {}

  /** The label value to report for `raw`. */
  value(raw: string | undefined): string {
    if (raw === undefined || raw === '') return NONE_LABEL;
    if (this.#seen.has(raw)) return raw;
    if (SECRET_LIKE.test(raw)) return REDACTED_LABEL;
    if (raw.length > MAX_LABEL_LENGTH || this.#seen.size >= this.cap) return OVERFLOW_LABEL;
    this.#seen.add(raw);
    return raw;
  }

  /** Distinct values admitted so far (at most `cap`). */
  get size(): number {
    return this.#seen.size;
  }
}

/**
 * How a logical call ended, as a bounded label (`anthropic_calls_total{outcome}`):
 *
 * | outcome        | when |
 * |----------------|------|
 * | `success`      | `record.ok` |
 * | `cancelled`    | the caller aborted (`APIUserAbortError`) |
 * | `rate_limited` | final status 429 (not a spend-limit 429), or a `RateLimitError` |
 * | `server_error` | final status ≥ 500 (529 included), an `OverloadedError` / `InternalServerError`, or a stream that failed after a 2xx with no better classification |
 * | `client_error` | any other final 4xx (408 and 409 included), a spend-limit 429, or the SDK's 4xx error classes |
 * | `connection`   | no response: connection errors, per-attempt timeouts, streams cut mid-way |
 * | `local`        | refused or stopped in-process: the library's own errors (`CircuitOpenError`, `BudgetExceededError`, `RateLimitQueueFullError`, `DeadlineExceededError`, `InputRejectedError`, …) and anything unclassified |
 */
export type CallOutcomeClass =
  | 'success'
  | 'client_error'
  | 'rate_limited'
  | 'server_error'
  | 'connection'
  | 'local'
  | 'cancelled';

/** Every {@link CallOutcomeClass}, in a stable order. */
export const CALL_OUTCOMES: readonly CallOutcomeClass[] = [
  'success',
  'client_error',
  'rate_limited',
  'server_error',
  'connection',
  'local',
  'cancelled',
];

/** Error classes of this library: calls it refused or stopped itself. */
const LOCAL_ERROR_CLASSES = new Set([
  'ResilientClaudeError',
  'CircuitOpenError',
  'BudgetExceededError',
  'RateLimitQueueFullError',
  'RateLimitWaitExceededError',
  'RateLimitCapacityError',
  'DeadlineExceededError',
  'InputRejectedError',
  'ConfigError',
  'KeyStoreError',
]);

/** SDK error classes (and ours that extend them) by the outcome they stand for. */
const SDK_ERROR_OUTCOMES: Readonly<Record<string, CallOutcomeClass>> = {
  RateLimitError: 'rate_limited',
  OverloadedError: 'server_error',
  InternalServerError: 'server_error',
  APIConnectionError: 'connection',
  APIConnectionTimeoutError: 'connection',
  StreamInterruptedError: 'connection',
  BadRequestError: 'client_error',
  AuthenticationError: 'client_error',
  PermissionDeniedError: 'client_error',
  NotFoundError: 'client_error',
  ConflictError: 'client_error',
  UnprocessableEntityError: 'client_error',
};

/** Classifies a completed call; see {@link CallOutcomeClass} for the rules. */
export function callOutcome(record: CallRecord): CallOutcomeClass {
  if (record.ok) return 'success';
  const { status, errorClass, failureReason } = record;
  if (errorClass === 'APIUserAbortError' || failureReason === 'caller_abort') return 'cancelled';
  if (status !== undefined && status >= 400) {
    if (status === 429) return failureReason === 'spend_limit' ? 'client_error' : 'rate_limited';
    return status >= 500 ? 'server_error' : 'client_error';
  }
  if (errorClass !== undefined) {
    if (LOCAL_ERROR_CLASSES.has(errorClass)) return 'local';
    const bySdkClass = Object.hasOwn(SDK_ERROR_OUTCOMES, errorClass) ? SDK_ERROR_OUTCOMES[errorClass] : undefined;
    if (bySdkClass) return bySdkClass;
  }
  switch (failureReason) {
    case 'rate_limited':
      return 'rate_limited';
    case 'overloaded':
    case 'server_error':
      return 'server_error';
    case 'connection':
    case 'attempt_timeout':
    case 'stream_interrupted':
      return 'connection';
    case 'client_error':
    case 'spend_limit':
    case 'request_timeout':
    case 'conflict':
      return 'client_error';
    case 'local':
      return 'local';
    default:
      break;
  }
  // A stream that failed after its 2xx headers, with an error we cannot place: the server's side.
  if (status !== undefined && status >= 200 && status < 300) return 'server_error';
  return 'local';
}
