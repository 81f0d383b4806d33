import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, RetryableError } from '@anthropic-ai/sdk';
import { isFetchOriginError, isRetryableError } from '@anthropic-ai/sdk/core/middleware';
import { ResilientClaudeError } from './errors/resilient-claude-error';

/**
 * Why an attempt failed, in words that are stable enough for metrics labels and log fields.
 * `undefined` classification = the attempt succeeded.
 */
export type FailureReason =
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'request_timeout'
  | 'conflict'
  | 'connection'
  | 'attempt_timeout'
  | 'stream_interrupted'
  | 'spend_limit'
  | 'client_error'
  | 'caller_abort'
  | 'local';

/** The verdict on one failed attempt. */
export interface FailureVerdict {
  readonly reason: FailureReason;
  /** Worth another attempt. */
  readonly retryable: boolean;
  /** Says something about the service's health (counts toward the circuit breaker). */
  readonly healthFailure: boolean;
  /** HTTP status when the failure was a response. */
  readonly status?: number;
}

/** 429 error codes that are billing ceilings, not pacing: waiting does not help. */
const SPEND_LIMIT_CODES = new Set(['contract_spend_limit_reached', 'enforced_spend_limit_reached']);

function verdict(reason: FailureReason, retryable: boolean, healthFailure: boolean, status?: number): FailureVerdict {
  return status === undefined ? { reason, retryable, healthFailure } : { reason, retryable, healthFailure, status };
}

/** Reads `error.details.error_code` from an Anthropic error body, if present. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const details = (error as { details?: unknown }).details;
  if (typeof details !== 'object' || details === null) return undefined;
  const code = (details as { error_code?: unknown }).error_code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies a non-2xx response. `x-should-retry` decides retryability when present (the server knows
 * best); the breaker verdict depends only on the status, since a 429 or 4xx says nothing about health.
 *
 * @param errorCode `error.details.error_code` from the body, when the caller parsed it (429 only).
 */
export function classifyResponse(status: number, headers: Headers, errorCode?: string): FailureVerdict {
  let base: FailureVerdict;
  if (status === 429) {
    base =
      errorCode !== undefined && SPEND_LIMIT_CODES.has(errorCode)
        ? verdict('spend_limit', false, false, status)
        : verdict('rate_limited', true, false, status);
  } else if (status === 529) base = verdict('overloaded', true, true, status);
  else if (status === 408) base = verdict('request_timeout', true, false, status);
  else if (status === 409) base = verdict('conflict', true, false, status);
  // 501 Not Implemented will not start working on a second try.
  else if (status === 501) base = verdict('server_error', false, true, status);
  else if (status >= 500) base = verdict('server_error', true, true, status);
  else base = verdict('client_error', false, false, status);

  const hint = headers.get('x-should-retry');
  if (hint === 'true' && !base.retryable) return { ...base, retryable: true };
  if (hint === 'false' && base.retryable) return { ...base, retryable: false };
  return base;
}

/** The SDK's timeout heuristic: the error's text, or its cause's, reads as a timeout. */
function timeoutText(error: unknown): boolean {
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? String((error as { cause: unknown }).cause) : '';
  return /timed? ?out/i.test(String(error) + cause);
}

/** Marks errors raised by the attempt layer for a per-attempt timeout. */
export class AttemptTimeoutError extends APIConnectionTimeoutError {}

/**
 * Classifies an error thrown by an attempt. Transport failures (connection, per-attempt timeout, a stream
 * cut before its first content) are retryable health failures; our own errors, caller aborts and anything
 * unknown are final.
 */
export function classifyError(error: unknown, callerAborted: boolean): FailureVerdict {
  if (callerAborted || error instanceof APIUserAbortError) return verdict('caller_abort', false, false);
  if (error instanceof ResilientClaudeError) return verdict('local', false, false);
  if (error instanceof APIConnectionTimeoutError) return verdict('attempt_timeout', true, true);
  if (error instanceof APIConnectionError) {
    return verdict(error.name === 'StreamInterruptedError' ? 'stream_interrupted' : 'connection', true, true);
  }
  if (error instanceof RetryableError) return verdict('connection', true, true);
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return verdict('attempt_timeout', true, true);
  }
  // Whatever the SDK's innermost fetch step threw (undici's `TypeError: fetch failed`, resets, DNS, a
  // failing credential refresh…): the SDK itself treats these as connection errors, and so do we. A
  // TypeError thrown by code elsewhere (a bug) is not a network failure and is not retried.
  if (isFetchOriginError(error)) return verdict('connection', true, true);
  // The SDK's own policy for errors thrown by middleware: retried when an APIConnectionError or
  // RetryableError sits anywhere in the cause chain, or when the text reads as a timeout. Such errors
  // come from code, not from the service, so they do not count against its health.
  if (isRetryableError(error)) return verdict('connection', true, false);
  if (timeoutText(error)) return verdict('attempt_timeout', true, false);
  return verdict('local', false, false);
}
