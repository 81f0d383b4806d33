import { z } from 'zod';
import { ConfigError } from './errors/config-error';
import { validateSection } from './options';
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
  /**
   * Send this `messages.create` call through the Message Batches API, at half the price: the promise
   * resolves to the same `Message` once the batch has processed it (usually minutes, at most 24 h). Calls
   * are gathered per client (the client's `batch` option). `within` bounds the wait in ms (default: until
   * the batch ends); `ref` is your own label for the call, returned by `client.batching.resume()` after a
   * restart. Not for streams, `countTokens` or `beta.messages`.
   */
  batch?: boolean | BatchCallSettings;
}

/** The object form of {@link ResilientCallOptions.batch}. */
export interface BatchCallSettings {
  /** Longest the caller waits for the result, ms. Default: until the batch ends (and once more if it expired). */
  within?: number;
  /** Your own label for the call (≤ 256 characters), kept with the batch in Redis and returned by `resume()`. */
  ref?: string;
}

/** The SDK `timeout` `callOptions()` gives a batched call (see there): the longest a timer holds. */
const BATCHED_TIMEOUT_MS = 2 ** 31 - 1;

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
  if (typeof settings !== 'object' || settings === null) {
    throw new ConfigError(CALL_OPTIONS_KEY, 'an object of per-call settings', `got ${settings === null ? 'null' : typeof settings}`);
  }
  validateCallOptions(settings);
  const options = { ...base, [CALL_OPTIONS_KEY]: settings } as RequestOptions;
  // The SDK refuses a non-streaming call whose max_tokens could outlast its default 10-minute timeout
  // unless a timeout is given. A batched call never waits on an HTTP response for its answer, so that
  // refusal does not apply: it gets a timeout that says so.
  if (settings.batch !== undefined && settings.batch !== false && base?.timeout === undefined) options.timeout = BATCHED_TIMEOUT_MS;
  return options;
}

const EMPTY: ResilientCallOptions = Object.freeze({});

const isPositiveTimer = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 2 ** 31 - 1;
const callOptionsSchema = z.strictObject({
  priority: z.custom<number>((v) => typeof v === 'number' && Number.isFinite(v), { error: 'a finite number (higher goes first)' }).optional(),
  tags: z
    .custom<string[]>((v) => Array.isArray(v) && v.every((t) => typeof t === 'string' && t.length > 0), { error: 'an array of non-empty strings' })
    .optional(),
  deadline: z.custom<number>(isPositiveTimer, { error: 'a positive number of milliseconds' }).optional(),
  estimatedOutputTokens: z
    .custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0, { error: 'a non-negative integer' })
    .optional(),
  user: z.custom<string>((v) => typeof v === 'string' && v.length > 0, { error: 'a non-empty string' }).optional(),
  batch: z
    .custom<boolean | object>((v) => typeof v === 'boolean' || (typeof v === 'object' && v !== null && !Array.isArray(v)), {
      error: 'true, false or { within, ref }',
    })
    .optional(),
});

const batchSchema = z.strictObject({
  within: z.custom<number>(isPositiveTimer, { error: 'a positive number of milliseconds' }).optional(),
  ref: z.custom<string>((v) => typeof v === 'string' && v.length > 0 && v.length <= 256, { error: 'a string of 1-256 characters' }).optional(),
});

/**
 * Refuses malformed per-call settings with `ConfigError` naming the field (`resilient.priority`, …) or the
 * misspelled key. `callOptions()` runs it at once; the client runs it again for settings passed by hand.
 */
export function validateCallOptions(settings: unknown): void {
  if (settings === EMPTY) return;
  validateSection(CALL_OPTIONS_KEY, settings, callOptionsSchema, 'an object of per-call settings');
  const batch = (settings as ResilientCallOptions).batch;
  if (typeof batch === 'object') validateSection(`${CALL_OPTIONS_KEY}.batch`, batch, batchSchema, 'true, false or { within, ref }');
}

/** The batch settings of a call made with `batch: true` or `batch: {…}`; undefined for a direct call. */
export function batchSettings(call: ResilientCallOptions): BatchCallSettings | undefined {
  const batch = call.batch;
  if (batch === undefined || batch === false) return undefined;
  return batch === true ? EMPTY_BATCH : batch;
}

const EMPTY_BATCH: BatchCallSettings = Object.freeze({});

/** Reads the per-call settings from the options the SDK hands to middleware. */
export function readCallOptions(options: FinalRequestOptions): ResilientCallOptions {
  const value = (options as unknown as Record<string, unknown>)[CALL_OPTIONS_KEY];
  return value === undefined ? EMPTY : (value as ResilientCallOptions);
}
