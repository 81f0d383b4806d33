import { InputRejectedError } from './errors/input-rejected-error';
import type { FinalRequestOptions, RequestOptions } from './sdk-types';

/**
 * Per-call settings for the resilience layers, passed in the SDK's per-request options:
 *
 * ```ts
 * await client.messages.create(params, callOptions({ priority: 10, tags: ['search'], deadline: 5_000 }));
 * // or merged with other request options:
 * await client.messages.create(params, callOptions({ tags: ['batch-job'] }, { timeout: 20_000 }));
 * ```
 *
 * They travel under the `resilient` key of the request options. The SDK ignores keys it does not know and
 * hands them to middleware unchanged, so no header or body field is involved.
 */
export interface ResilientCallOptions {
  /** Rate-limit queue priority: higher goes first; equal priorities keep arrival order. Default 0. */
  priority?: number;
  /** Labels for the cost ledger (`summary().byTag`) and the call record. */
  tags?: readonly string[];
  /** Overall deadline for this call in ms (queueing + attempts + backoff). Overrides the client's `deadline`. */
  deadline?: number;
  /** Output tokens to reserve against OTPM for this call instead of the configured estimate. */
  estimatedOutputTokens?: number;
  /** Override the user the call is attributed to (default: `params.metadata.user_id`). */
  user?: string;
}

/** The key under which {@link ResilientCallOptions} travel in the SDK's request options. */
export const CALL_OPTIONS_KEY = 'resilient';

/**
 * Builds SDK request options carrying per-call resilience settings, typed as the SDK's own
 * `RequestOptions` so it can be passed to any resource method.
 *
 * Why a helper instead of a declaration merge: the SDK declares `RequestOptions` in
 * `@anthropic-ai/sdk/internal/request-options`, which its `exports` map does not expose, so a module
 * augmentation cannot resolve under `moduleResolution: node16 | bundler`.
 */
export function callOptions(settings: ResilientCallOptions, base?: RequestOptions): RequestOptions {
  return { ...base, [CALL_OPTIONS_KEY]: settings } as RequestOptions;
}

const EMPTY: ResilientCallOptions = Object.freeze({});

/** Refuses malformed per-call settings with `InputRejectedError` naming the field, before anything is sent. */
export function validateCallOptions(settings: ResilientCallOptions): void {
  const bad = (field: string, expected: string) => {
    throw new InputRejectedError(`${CALL_OPTIONS_KEY}.${field}`, 'invalid', `expected ${expected}`);
  };
  if (settings === EMPTY) return;
  const { priority, tags, deadline, estimatedOutputTokens, user } = settings;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) bad('priority', 'a finite number');
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0))) {
    bad('tags', 'an array of non-empty strings');
  }
  if (deadline !== undefined && (typeof deadline !== 'number' || !(deadline > 0) || deadline > 2 ** 31 - 1)) {
    bad('deadline', 'a positive number of milliseconds');
  }
  if (estimatedOutputTokens !== undefined && (!Number.isInteger(estimatedOutputTokens) || estimatedOutputTokens < 0)) {
    bad('estimatedOutputTokens', 'a non-negative integer');
  }
  if (user !== undefined && (typeof user !== 'string' || user.length === 0)) bad('user', 'a non-empty string');
}

/** Reads the per-call settings from the options the SDK hands to middleware. */
export function readCallOptions(options: FinalRequestOptions): ResilientCallOptions {
  const value = (options as unknown as Record<string, unknown>)[CALL_OPTIONS_KEY];
  return typeof value === 'object' && value !== null ? (value as ResilientCallOptions) : EMPTY;
}
