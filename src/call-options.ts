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
  if (typeof settings !== 'object' || settings === null) {
    throw new ConfigError(CALL_OPTIONS_KEY, 'an object of per-call settings', `got ${settings === null ? 'null' : typeof settings}`);
  }
  validateCallOptions(settings);
  return { ...base, [CALL_OPTIONS_KEY]: settings } as RequestOptions;
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
});

/**
 * Refuses malformed per-call settings with `ConfigError` naming the field (`resilient.priority`, …) or the
 * misspelled key. `callOptions()` runs it at once; the client runs it again for settings passed by hand.
 */
export function validateCallOptions(settings: unknown): void {
  if (settings === EMPTY) return;
  validateSection(CALL_OPTIONS_KEY, settings, callOptionsSchema, 'an object of per-call settings');
}

/** Reads the per-call settings from the options the SDK hands to middleware. */
export function readCallOptions(options: FinalRequestOptions): ResilientCallOptions {
  const value = (options as unknown as Record<string, unknown>)[CALL_OPTIONS_KEY];
  return value === undefined ? EMPTY : (value as ResilientCallOptions);
}
