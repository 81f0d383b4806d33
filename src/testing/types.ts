/**
 * Public option, record and statistics types of the fake Anthropic server.
 *
 * @module
 */
import type { ErrorObject } from '@anthropic-ai/sdk/resources/shared';
import { type MessageCreateBody } from './completion';
import { type FaultSpec } from './faults';
import { type RateLimits } from './rate-buckets';

/** Simulated latency. Default: none (and then no timers at all). */
export interface LatencyOptions {
  /**
   * Delay before response headers, ms: a fixed number or a `[min, max]` range drawn uniformly from
   * the seeded stream. Applies to every endpoint. Default 0.
   */
  headersMs?: number | [min: number, max: number];
  /** Delay before each SSE `content_block_delta`, ms. Default 0 (the whole stream is written at once). */
  perDeltaMs?: number;
}

/** Options of {@link FakeAnthropicServer.start}. All optional. */
export interface FakeAnthropicOptions {
  /** Port to listen on. Default 0 (a random free port). */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /**
   * Accepted API keys, presented as `Authorization: Bearer <key>` (what the SDK sends) or
   * `x-api-key`. Default: any non-empty key. A missing, unknown or revoked key gets 401
   * `authentication_error`.
   */
  apiKeys?: string[];
  /**
   * Known model ids. When given, a request for any other model (after aliasing) gets 404
   * `not_found_error` (`model: <id>`), and `GET /v1/models` serves exactly these. Default: every
   * model id is accepted and the catalogue is the SDK's `Model` union ({@link DEFAULT_MODEL_IDS}).
   */
  models?: string[];
  /**
   * Requested model → the `model` reported in responses. Replaces the default
   * ({@link DEFAULT_MODEL_ALIASES}: `claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`,
   * `claude-haiku-4-5` → `claude-haiku-4-5-20251001`, `claude-opus-4-5` → `claude-opus-4-5-20251101`);
   * spread the default to extend it. Unmapped ids are echoed.
   */
  modelAliases?: Record<string, string>;
  /**
   * Organization rate limits (continuous token buckets). Default: unlimited, and no
   * `anthropic-ratelimit-*` headers. See {@link RateLimits}.
   */
  rateLimits?: RateLimits;
  /** Simulated latency. Default none. */
  latency?: LatencyOptions;
  /**
   * Output length: a fixed number or a function of the request. Default: a hash of the request
   * (ignoring `stream`) → an integer in [5, 40] ({@link defaultOutputTokens}). Always at least 1 and
   * capped at `max_tokens` (then `stop_reason: 'max_tokens'`).
   */
  outputTokens?: number | ((body: MessageCreateBody) => number);
  /** Seed for every random choice (fault probabilities, latency ranges, ids, output words). Default 1. */
  seed?: number;
  /**
   * Clock in epoch ms for rate buckets, reset headers, prompt-cache TTLs, outage durations, batch
   * timing and `RequestRecord.at`. Default `Date.now`.
   */
  clock?: () => number;
  /** Keep parsed request bodies in the ledger. Default `true`. */
  recordBodies?: boolean;
  /** Keep only the last N ledger records (`stats()` keeps exact totals). Default `Infinity`. */
  ledgerLimit?: number;
  /**
   * Time from creation until a message batch has `ended`, on the server clock. Default 0 (at once).
   *
   * @deprecated Use `batches.processingMs`; this stays as an alias (setting both to different
   * values is a `RangeError`).
   */
  batchProcessingMs?: number;
  /** Message Batches timing, expiry, cancellation and per-item outcomes. See {@link FakeBatchOptions}. */
  batches?: FakeBatchOptions;
  /** Minimum prefix length (tokens) for a prompt-cache breakpoint to be cacheable. Default 0. */
  cacheMinTokens?: number;
}

/**
 * What one request of a message batch ends as, chosen by {@link FakeBatchOptions.itemResult}:
 * - `'succeeded'`: answered normally (the deterministic message with `usage.service_tier: 'batch'`;
 *   a request whose `params` are invalid is still `errored`, as without `itemResult`);
 * - `'expired'` / `'canceled'`: that result type;
 * - `{ error }`: `errored`, with `error` as the result's
 *   `{ type: 'error', error: { type, message }, request_id: null }`.
 *
 * An outcome chosen here is final: the item keeps it even when the batch is canceled or expires.
 */
export type FakeBatchItemOutcome =
  | 'succeeded'
  | 'expired'
  | 'canceled'
  | { error: { type: ErrorObject['type']; message: string } };

/** One request of a batch being created, as {@link FakeBatchOptions.itemResult} sees it. */
export interface FakeBatchItem {
  /** The request's `custom_id`. */
  customId: string;
  /** The request's `params`, as sent (not validated yet). */
  params: unknown;
  /** 0-based position in the batch's `requests`. */
  index: number;
  /** The id of the batch being created (`msgbatch_…`). */
  batchId: string;
}

/**
 * Message Batches behaviour. Timing is per batch, on the server clock (`clock`; see
 * {@link compressedClock} to run hours in milliseconds). A batch ends at the first of:
 * - creation + `processingMs`: every request gets its answer (`succeeded`, or `errored` if invalid);
 * - creation + `expiresAfterMs` (the view's `expires_at`): requests not finished are `expired`;
 * - cancel + `cancelDelayMs`, after a cancel while `in_progress`: requests not finished are `canceled`.
 *
 * On a tie, processing wins over cancellation, and cancellation over expiry. Requests given an
 * outcome by `itemResult` count as finished, whatever ends the batch. Until the batch has ended,
 * `request_counts` shows every request as `processing` (as the real API, whose other counts stay 0
 * until then), and results are not available.
 */
export interface FakeBatchOptions {
  /** Time from creation until the batch has ended, ms. Default `batchProcessingMs`, else 0 (ended at once). */
  processingMs?: number;
  /** Time from creation until the batch expires, ms (finite, > 0). Default 86_400_000 (24 h, as the real API). */
  expiresAfterMs?: number;
  /**
   * Time a cancelled batch stays `canceling` before it has ended, ms. Default 0: the cancel call
   * still answers `canceling` (as the real API does), and the batch is `ended` from then on.
   */
  cancelDelayMs?: number;
  /**
   * Chooses a request's outcome when its batch is created (called once per request, in order).
   * Return `undefined` for the default behaviour. A throw, or a value that is not a
   * {@link FakeBatchItemOutcome}, fails the create call with a 500 `api_error`.
   */
  itemResult?: (item: FakeBatchItem) => FakeBatchItemOutcome | undefined;
}

/** A batch the server created, from {@link FakeAnthropicServer.batchesCreated}. */
export interface FakeBatchRecord {
  /** The batch id (`msgbatch_…`). */
  id: string;
  /** Creation time on the server clock, ms. */
  createdAt: number;
  /** The requests' `custom_id`s, in submission order. */
  customIds: string[];
  /** A cancel was accepted while the batch was in progress (`cancel_initiated_at` is set). */
  canceled: boolean;
  /** The batch has been deleted (it is no longer served). */
  deleted: boolean;
}

/**
 * Token usage of one fully served `/v1/messages` response — the same numbers as its `usage`:
 * `inputTokens` = `input_tokens` (uncached), `cacheReadTokens` = `cache_read_input_tokens`,
 * `cacheWrite5mTokens` / `cacheWrite1hTokens` = `cache_creation.ephemeral_5m/1h_input_tokens`.
 */
export interface ServedUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
}

/**
 * How a request ended:
 * - `ok`: answered normally (2xx), including a `slowHeaders` fault that then succeeded;
 * - `fault`: the response was replaced or broken by a fault (status, reset, hang, stream faults);
 * - `rate_limited`: 429 from the rate buckets (not from a fault);
 * - `auth_error`: 401 for a missing/unknown/revoked key;
 * - `invalid`: 400 from validation;
 * - `not_found`: 404 (unknown path, model, model id or batch);
 * - `aborted`: the client closed the connection before the server had decided on a response
 *   (e.g. during simulated latency or a `slowHeaders` delay).
 */
export type RequestOutcome = 'ok' | 'fault' | 'rate_limited' | 'auth_error' | 'invalid' | 'not_found' | 'aborted';

/** One HTTP request the server received (including faulted ones). */
export interface RequestRecord {
  /** 1-based arrival order. */
  seq: number;
  /** The `request-id` the response carried (or would have carried). */
  requestId: string;
  /** Arrival time on the server clock, ms. */
  at: number;
  /** HTTP method, upper-case. */
  method: string;
  /** Path without the query string. */
  path: string;
  /** Request headers, lower-case names, as received. */
  headers: Record<string, string>;
  /** Parsed JSON body (only with `recordBodies`, and when the body was valid JSON). */
  body?: unknown;
  /** `model` from the body, if it was a string. */
  model?: string;
  /** `stream: true` in the body. */
  stream: boolean;
  /** The API key presented, if any. */
  apiKey?: string;
  /** `x-stainless-retry-count`, if sent (the SDK's attempt number, 0-based). */
  retryCount?: number;
  /** HTTP status sent; 0 when no headers were sent (reset, hang, client gone before headers). */
  status: number;
  /** How the request ended. */
  outcome: RequestOutcome;
  /** The fault applied, if any. */
  fault?: FaultSpec['kind'];
  /** Usage, only when the response was delivered completely (see {@link FakeServerStats.served}). */
  served?: ServedUsage;
}

/** Counters over every request since start (or the last `resetLedger()`), unaffected by `ledgerLimit`. */
export interface FakeServerStats {
  /** Requests received. */
  requests: number;
  /** Finished requests by HTTP status (`'0'` for no headers). */
  byStatus: Record<string, number>;
  /** Finished requests by {@link RequestOutcome}. */
  byOutcome: Record<string, number>;
  /** 429s from the rate buckets (faulted 429s are not included). */
  rateLimited: number;
  /** Requests that had a fault applied (including `slowHeaders`). */
  faulted: number;
  /**
   * Summed usage of fully served `/v1/messages` responses: a JSON response written completely
   * (`res.end` with the whole body), or an SSE stream written through `message_stop`. Not counted:
   * errors, faulted streams (`sseError`, `cutStream`, `truncateStream` — even though their
   * `message_start` carried input usage), streams whose connection closed before `message_stop`
   * was written (possible only with `latency.perDeltaMs`), `count_tokens`, and batch results.
   * "Served" is decided on the server side at the moment the last byte is handed to the socket, so
   * a client that bills exactly the responses it received in full matches this exactly.
   */
  served: ServedUsage;
  /** Number of fully served `/v1/messages` responses. */
  servedResponses: number;
}

export type { MessageCreateBody, FaultSpec, RateLimits };
