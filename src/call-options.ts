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

/** Reads the per-call settings from the options the SDK hands to middleware. */
export function readCallOptions(options: FinalRequestOptions): ResilientCallOptions {
  const value = (options as unknown as Record<string, unknown>)[CALL_OPTIONS_KEY];
  return typeof value === 'object' && value !== null ? (value as ResilientCallOptions) : EMPTY;
}
