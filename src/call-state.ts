import type { FinalRequestOptions, MiddlewareContext } from './sdk-types';

/**
 * Where the client stores the caller's retry budget on the options it hands the SDK (the SDK's own
 * `maxRetries` on that copy is set to the SDK passes we allow on top of ours).
 */
export const RETRY_BUDGET = Symbol.for('resilient-claude.retryBudget');

/**
 * Marks the request options of the client's own housekeeping calls (a batch queue's create, status
 * checks and results): they are sent with retries, breaker and keys like any request, but are not the
 * caller's calls, so they get no call record and are not sanitized again.
 */
export const INTERNAL_CALL = Symbol.for('resilient-claude.internal');
import type { ResilientCallOptions } from './call-options';
import type { FailureReason } from './classify';
import type { DeliveredPrefix, TappedStream } from './stream/stream-tap';
import { readCallOptions } from './call-options';
import type { Demand, Permit } from './ratelimit/types';

/**
 * How a streaming response ended — one of three, so a reader never has to reconcile flags:
 * `complete` (message_stop arrived), `failed` (with the error the reader got; `preContent` when no
 * content had reached it, so the retry layer may resume), or `cancelled` (the consumer broke out or
 * aborted).
 */
export type StreamOutcome =
  | { readonly outcome: 'complete' }
  | { readonly outcome: 'failed'; readonly error: unknown; readonly preContent?: Error }
  | { readonly outcome: 'cancelled' };

/** What was seen of a stream, whatever its outcome. */
export interface StreamFacts {
  /** Whole-message usage (message_start, then the final message_delta totals), when seen. */
  readonly usage?: UsageTotals;
  /** The stream died before its final usage: `usage.outputTokens` is estimated from the deltas seen. */
  readonly outputEstimated?: boolean;
  /** The response's model (from message_start). */
  readonly model?: string;
}

/** What a streaming response turned out to be, once its body has been read to the end (or failed). */
export type StreamResult = StreamFacts & StreamOutcome;

/** The facts of `result` without its outcome, to end a stream differently with what it saw. */
export function streamFacts(result: StreamResult): StreamFacts {
  return {
    ...(result.usage ? { usage: result.usage } : {}),
    ...(result.outputEstimated ? { outputEstimated: true } : {}),
    ...(result.model ? { model: result.model } : {}),
  };
}

/**
 * Usage as the API reports it, normalised: non-null numbers, plus the raw object for pricing. `raw` is the
 * SDK `Usage`/`BetaUsage` (or the stream-accumulated equivalent) — the cost engine prices from it.
 */
export interface UsageTotals {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * The call's deadline and signals. Written by the deadline layer (and the client's seam, which decides
 * whether attempts get their own timeout); read by the layers that wait (retry backoff, rate-limit
 * queue, breaker) and by the attempt layer.
 */
export interface TimingSlice {
  /**
   * Abort signal of the whole call: the caller's own signal, or — with a deadline — one that follows both
   * the caller's and the deadline. Waits (backoff, rate-limit queue) listen to it only while waiting.
   */
  signal: AbortSignal | undefined;
  /** The deadline's own signal (aborted when the deadline passes), when the call has a deadline. */
  deadlineSignal: AbortSignal | undefined;
  /**
   * The SDK's `timeout`, when the attempt layer enforces it on a controller of each attempt's own (the
   * call may be retried); undefined when the SDK's own per-attempt timer is in charge.
   */
  attemptTimeoutMs: number | undefined;
  /** Epoch ms (performance clock) at which the call's deadline passes, if it has one. */
  deadlineAt: number | undefined;
  /** Deadline in ms from the start, if any. */
  deadlineMs: number | undefined;
}

/**
 * Attempts and their outcomes. Written by the retry layer (budget, attempts, failures), the client's
 * seam (SDK passes) and the attempt layer (`sent`); read by observe for the call record.
 */
export interface TriesSlice {
  /** Retries allowed for this call (the caller's `maxRetries`, per request or client). */
  retryBudget: number;
  /** Retries performed so far (attempts after the first). */
  retries: number;
  /** Attempts made so far (across SDK passes), including any a breaker or limiter then refused. */
  attempts: number;
  /** HTTP requests actually sent for the call (refusals by the breaker or limiter are not). */
  sent: number;
  /** SDK retry passes allowed on top of ours (0, or 1 to keep the SDK's 401 token refresh). */
  sdkPassesAllowed: number;
  /** How many times the SDK has run the middleware chain for this call. */
  sdkPasses: number;
  /** True when the current pass ends with an outcome the SDK will retry itself (401 refresh). */
  sdkWillRetry: boolean;
  /** Error thrown at the end of a pass, replayed if the SDK runs the chain again. */
  finalThrown: { error: unknown } | undefined;
  /** Last attempt's failure (error or status), for diagnostics. */
  lastFailure: { status?: number; reason: FailureReason; error?: unknown } | undefined;
  /** Last response status seen. */
  lastStatus: number | undefined;
  /** `request-id` of the last response. */
  requestId: string | undefined;
}

/**
 * A streaming call's progress. Written by the attempt layer's stream tap (each attempt) and the retry
 * layer (the logical stream across attempts); read by observe, the rate-limit settlement and the
 * deadline (which disarms at the first content).
 */
export interface StreamingSlice {
  /** Settles when the logical stream has been read to its end (or failed). */
  result: Promise<StreamResult> | undefined;
  /** Outcome of the latest streaming attempt. */
  lastAttempt: Promise<StreamResult> | undefined;
  /** The latest streaming attempt's tap (the attempt layer's; the retry layer reads through it). */
  lastTap: TappedStream | undefined;
  /** What the stream's reader already received before content (later attempts must not repeat it). */
  readonly delivered: DeliveredPrefix;
  /** Hooks run once, when stream content first reaches the reader (e.g. the deadline disarms). */
  readonly commitHooks: (() => void)[];
  /** Called by the stream tap at the first committed content; runs `commitHooks` once. */
  contentCommitted(): void;
  /** Stream content has reached the reader. */
  committed: boolean;
}

/**
 * What the rate-limit layer holds for a call between its attempts and its completion. Written and read by
 * that layer only (its completion hook settles `pending`).
 */
export interface RateLimitSlice {
  /** What the call asks of the buckets, estimated once (every attempt reserves the same). */
  demand: Demand | undefined;
  /** A JSON response's permit, settled when the call completes (observe has the usage then). */
  pending: { readonly permit: Permit; readonly scope: string; readonly headers: Headers; readonly status: number } | undefined;
}

/**
 * The state of one *logical* call, shared by every layer and every attempt: the call's identity
 * (read-only), what is being sent, and one slice per concern — `timing`, `tries`, `streaming` — each
 * written by the layers its comment names.
 *
 * The SDK hands all attempts (and all SDK-level re-passes, such as the one-shot 401 token refresh) the
 * same `FinalRequestOptions` object as `ctx.options`, so it keys a WeakMap: nothing to clean up, and a
 * call's state dies with the call.
 */
export interface CallState {
  /** Local id for correlating log lines of one call (not an API request id). */
  readonly id: string;
  readonly options: FinalRequestOptions;
  /** The per-call settings passed through `callOptions()` / `RequestOptions.resilient`. */
  readonly call: ResilientCallOptions;
  /** `performance.now()` at the call's first layer. */
  readonly startedAt: number;
  /** Epoch ms at the call's first layer. */
  readonly startedAtEpoch: number;
  readonly method: string;
  readonly path: string;
  readonly stream: boolean;
  /** One of the client's own housekeeping calls (see {@link INTERNAL_CALL}). */
  readonly internal: boolean;
  /** `metadata.user_id` of the request, if any: the user for costs, budgets and logs. */
  readonly user: string | undefined;
  /** `body.model` of a Messages-shaped request, if any (updated when a layer changes the model). */
  model: string | undefined;
  /** The request params as they will be sent (the SDK's body, after sanitizing or routing). */
  params: unknown;
  /** The body a route or fallback settled on, re-applied if the SDK runs the chain again. */
  routedBody: string | undefined;
  /** The body the sanitizer settled on: a string when it rewrote it, null when unchanged, undefined before. */
  sanitizedBody: string | null | undefined;
  readonly timing: TimingSlice;
  readonly tries: TriesSlice;
  readonly streaming: StreamingSlice;
  /** Milliseconds spent waiting for rate-limit capacity, over all attempts (rate-limit layer). */
  rateLimitWaitMs: number;
  readonly rateLimit: RateLimitSlice;
  /** The observe layer has started the call (its in-flight count and start hook ran once). */
  observed: boolean;
  /** Alias of the pooled API key used by the last attempt (keys layer, with `apiKeys`). */
  keyAlias: string | undefined;
  /** Breaker scope used by the last attempt (breaker layer). */
  breakerScope: string | undefined;
  /** An open breaker must refuse this call at once rather than hold it (fallback layer: another model can take it). */
  breakerFailFast: boolean;
  /** Free-form facts layers add for the call record (e.g. the model a route chose). */
  readonly notes: Record<string, unknown>;
}

const states = new WeakMap<object, CallState>();

function readBudget(options: FinalRequestOptions): number {
  const value = (options as unknown as Record<symbol, unknown>)[RETRY_BUDGET];
  return typeof value === 'number' ? value : (options.maxRetries ?? 0);
}
let nextId = 0;

function readString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Reads `model` and `metadata.user_id` from a request body object, if it has them. */
function bodyFacts(body: unknown): { model: string | undefined; user: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { model: undefined, user: undefined };
  const record = body as { model?: unknown; metadata?: unknown };
  const metadata = record.metadata;
  const user =
    typeof metadata === 'object' && metadata !== null ? readString((metadata as { user_id?: unknown }).user_id) : undefined;
  return { model: readString(record.model), user };
}

/**
 * The state of the call `ctx` belongs to, created on first use. Returns `undefined` for requests that are
 * not API calls (the SDK's credential token exchanges have no `ctx.options`): layers pass those through.
 */
export function callState(ctx: MiddlewareContext): CallState | undefined {
  const options = ctx.options;
  if (!options) return undefined;
  let state = states.get(options);
  if (!state) {
    const { model, user } = bodyFacts(options.body);
    state = {
      id: `call_${(++nextId).toString(36)}`,
      options,
      call: readCallOptions(options),
      startedAt: performance.now(),
      startedAtEpoch: Date.now(),
      method: options.method.toUpperCase(),
      path: options.path,
      stream: options.stream === true,
      internal: (options as unknown as Record<symbol, unknown>)[INTERNAL_CALL] === true,
      user,
      model,
      params: options.body,
      routedBody: undefined,
      sanitizedBody: undefined,
      timing: { signal: undefined, deadlineSignal: undefined, attemptTimeoutMs: undefined, deadlineAt: undefined, deadlineMs: undefined },
      tries: {
        retryBudget: readBudget(options),
        retries: 0,
        attempts: 0,
        sent: 0,
        sdkPassesAllowed: options.maxRetries ?? 0,
        sdkPasses: 0,
        sdkWillRetry: false,
        finalThrown: undefined,
        lastFailure: undefined,
        lastStatus: undefined,
        requestId: undefined,
      },
      streaming: {
        result: undefined,
        lastAttempt: undefined,
        lastTap: undefined,
        delivered: { messageStart: false, blocks: new Map() },
        commitHooks: [],
        committed: false,
        contentCommitted() {
          this.committed = true;
          const hooks = this.commitHooks.splice(0);
          for (const hook of hooks) hook();
        },
      },
      rateLimitWaitMs: 0,
      rateLimit: { demand: undefined, pending: undefined },
      observed: false,
      keyAlias: undefined,
      breakerScope: undefined,
      breakerFailFast: false,
      notes: {},
    };
    states.set(options, state);
  }
  return state;
}
