import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from '@anthropic-ai/sdk';
import { isFetchOriginError, isRetryableError } from '@anthropic-ai/sdk/core/middleware';
import { callState, streamFacts, type CallState, type StreamOutcome, type StreamResult } from '../call-state';
import { classifyError, classifyResponse, errorCodeOf, type FailureVerdict } from '../classify';
import { StreamInterruptedError } from '../errors/stream-interrupted-error';
import type { EventHub, RetryEvent } from '../events';
import type { LogSink } from '../logging';
import type { ResolvedRetryOptions } from '../options';
import type { APIRequest, Middleware, MiddlewareContext, MiddlewareNext } from '../sdk-types';
import { PreContentFailure } from '../stream/stream-tap';
import { attemptStreams } from './attempt';
import { statusForErrorType } from '../stream/error-types';
import { deadlineError } from './deadline';
import { isEventStream, withBody } from '../util/http';
import { sdkErrorOptions, type SdkErrorOptions } from '../sdk/error-options';
import { abortableSleep, MAX_TIMER_MS } from '../util/timers';

/** One failed attempt: why (the verdict, which also says whether it may be retried) and what came back. */
class AttemptFailure extends Error {
  constructor(
    readonly verdict: FailureVerdict,
    readonly response: Response | undefined,
    readonly error: unknown,
  ) {
    super(`attempt failed: ${verdict.reason}`);
    this.name = 'AttemptFailure';
  }
}

/** Where the wait before the next attempt comes from. */
interface DelayPlan {
  readonly delayMs: number;
  readonly source: RetryEvent['delaySource'];
}

/** Largest delay one timer can hold; hints beyond it are treated as absent, as the SDK does. */

/**
 * The server's own hint, if it gave a usable one: `retry-after-ms` (float ms), else `retry-after` (seconds,
 * or an HTTP date). Values that are not positive or do not fit a timer are ignored, like the SDK does.
 */
export function retryAfterHint(headers: Headers | undefined, now = Date.now()): DelayPlan | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS) return { delayMs: value, source: 'retry-after-ms' };
  }
  const after = headers.get('retry-after');
  if (after !== null && after.trim() !== '') {
    const seconds = Number(after.trim());
    const value = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now;
    if (Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS) return { delayMs: value, source: 'retry-after' };
  }
  return undefined;
}

/** Exponential backoff with full jitter: `random(0, min(cap, base · 2^n))`, n = retries already made. */
export function backoffDelay(retryIndex: number, config: ResolvedRetryOptions, random: () => number): number {
  const ceiling = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** retryIndex);
  return config.jitter ? random() * ceiling : ceiling;
}

/** A request body that can be sent again as is. Streams and async iterables cannot. */
function isReplayable(body: APIRequest['body']): boolean {
  if (body === null || body === undefined || typeof body === 'string') return true;
  if (body instanceof ReadableStream) return false;
  return !(typeof body === 'object' && (Symbol.asyncIterator in body || Symbol.iterator in body));
}

/** The SDK retries these statuses on its own; a final one we hand back must say "do not". */
function sdkWouldRetry(response: Response): boolean {
  const s = response.status;
  const hint = response.headers.get('x-should-retry');
  if (hint === 'false') return false;
  return hint === 'true' || s === 408 || s === 409 || s === 429 || s >= 500;
}

/** A copy of `response` marked `x-should-retry: false`, so the SDK's own loop does not retry it. */
function markFinal(response: Response): Response {
  if (!sdkWouldRetry(response)) return response;
  const headers = new Headers(response.headers);
  headers.set('x-should-retry', 'false');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function timeoutLike(error: unknown): boolean {
  const cause = error instanceof Error && 'cause' in error ? String(error.cause) : '';
  return /timed? ?out/i.test(String(error) + cause);
}

/** Whether the SDK's loop would run the chain again after this error (connection- or timeout-like). */
function sdkWouldRetryError(error: unknown): boolean {
  return isRetryableError(error) || timeoutLike(error);
}


async function discard(response: Response | undefined): Promise<void> {
  if (response?.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
}

/** Dependencies of the retry layer. */
export interface RetryLayerDeps {
  readonly config: ResolvedRetryOptions;
  readonly events: EventHub;
  readonly log: LogSink;
  /** Builds the SDK's typed error for a status (the client's `makeStatusError`). */
  readonly statusError: (status: number, body: unknown, headers: Headers, options?: SdkErrorOptions) => Error;
  readonly random?: () => number;
}

/**
 * Retry layer. The one retry owner: it calls `next()` again for retryable failures, waits as
 * the server asks (`retry-after-ms`, `retry-after`) up to `maxRetryAfterMs`, else backs off exponentially
 * with full jitter; a hint beyond the cap or beyond the deadline ends the call at once with the server's
 * own error. On final failure it returns the last response (marked so the SDK does not retry it again),
 * and the SDK builds its usual typed error from it.
 *
 * Streams are returned at their headers, never buffered. If one fails before any content reached the
 * reader (an SSE `error` event, a cut, an early end, a stall), the layer sends the request again from
 * inside the body and continues the same stream from the new response; once content has flowed, a
 * failure is the reader's error.
 */
export function createRetryLayer(deps: RetryLayerDeps): Middleware {
  const { config, events, log, statusError } = deps;
  const random = deps.random ?? Math.random;

  function planDelay(failure: AttemptFailure, state: CallState): DelayPlan | undefined {
    const hint = retryAfterHint(failure.response?.headers);
    let plan: DelayPlan;
    if (hint) {
      if (hint.delayMs > config.maxRetryAfterMs) return undefined;
      plan = hint;
    } else {
      plan = { delayMs: backoffDelay(state.tries.retries, config, random), source: 'backoff' };
    }
    if (state.timing.deadlineAt !== undefined && performance.now() + plan.delayMs >= state.timing.deadlineAt) return undefined;
    return plan;
  }

  function announce(state: CallState, failure: AttemptFailure, plan: DelayPlan): void {
    if (!events.has('retry') && !log.enabled('warn')) return;
    const payload: RetryEvent = {
      callId: state.id,
      attempt: state.tries.attempts,
      delayMs: Math.round(plan.delayMs),
      delaySource: plan.source,
      reason: failure.verdict.reason,
      ...(failure.verdict.status !== undefined ? { status: failure.verdict.status } : {}),
      ...(state.tries.requestId ? { requestId: state.tries.requestId } : {}),
      ...(state.model ? { model: state.model } : {}),
    };
    log.log('warn', { ...payload }, 'retrying Anthropic call');
    events.emit('retry', payload);
  }

  /** Decides on a failed attempt: waits and returns true to try again, or returns false. */
  async function shouldRetry(failure: AttemptFailure, state: CallState, ctx: MiddlewareContext): Promise<boolean> {
    if (!failure.verdict.retryable || state.tries.retries >= state.tries.retryBudget) return false;
    const plan = planDelay(failure, state);
    if (!plan) return false;
    await discard(failure.response);
    announce(state, failure, plan);
    await abortableSleep(plan.delayMs, state.timing.signal ?? ctx.options?.signal);
    state.tries.retries++;
    return true;
  }

  /**
   * Attempts until one succeeds, a failure may not be retried, or the budget, the deadline or the cap
   * on server hints says stop. A plain loop: the waits need the server's hints, the deadline and the
   * caller's signal, and a retry library's own backoff would have nothing left to do (p-retry ran here
   * as a loop counter with zero delays until 0.2).
   */
  async function attemptThenRetry(attempt: () => Promise<Response>, state: CallState, ctx: MiddlewareContext): Promise<Response> {
    for (;;) {
      let failure: AttemptFailure;
      try {
        return await attempt();
      } catch (thrown) {
        if (!(thrown instanceof AttemptFailure)) throw thrown;
        failure = thrown;
      }
      if (!(await shouldRetry(failure, state, ctx))) throw failure;
    }
  }

  return async function retry(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    if (!config.enabled || !isReplayable(request.body)) state.tries.retryBudget = Math.min(state.tries.retryBudget, state.tries.retries);

    // The SDK stamps the header with its own pass number; any other value (or none) is the caller's.
    const ownsRetryCount = request.headers.get('x-stainless-retry-count') === String(state.tries.sdkPasses - 1);
    const attempt = makeAttempt(request, next, ctx, state, ownsRetryCount);

    let response: Response;
    try {
      response = await attemptThenRetry(attempt, state, ctx);
    } catch (thrown) {
      if (!(thrown instanceof AttemptFailure)) throw thrown; // an abort while sleeping: the deadline layer maps it
      if (thrown.response) {
        if (thrown.response.status === 401 && state.tries.sdkPasses <= state.tries.sdkPassesAllowed) {
          // The SDK refreshes a bearer token after a 401 and runs the chain once more; let it.
          state.tries.sdkWillRetry = true;
        }
        return markFinal(thrown.response);
      }
      if (state.tries.sdkPasses <= state.tries.sdkPassesAllowed && sdkWouldRetryError(thrown.error)) {
        // The SDK would start another pass; it must not start another round of attempts.
        state.tries.finalThrown = { error: thrown.error };
        state.tries.sdkWillRetry = true;
      }
      throw thrown.error;
    }

    if (state.stream && response.body && isEventStream(response)) return resumable(response, attempt, state, ctx, request.url);
    return response;
  };

  /** One attempt: stamps the retry count, sends, classifies. Throws an `AttemptFailure` on failure. */
  function makeAttempt(
    request: APIRequest,
    next: MiddlewareNext,
    ctx: MiddlewareContext,
    state: CallState,
    ownsRetryCount: boolean,
  ): () => Promise<Response> {
    return async () => {
      if (callAborted(state, ctx)) throw new AttemptFailure(ABORTED, undefined, state.timing.signal?.reason);
      let attemptRequest = request;
      // The SDK already stamped '0'; later attempts get their own number on a copy of the headers.
      if (ownsRetryCount && state.tries.attempts > 0) {
        const headers = new Headers(request.headers);
        headers.set('x-stainless-retry-count', String(state.tries.attempts));
        attemptRequest = { ...request, headers };
      }
      state.tries.attempts++;
      let response: Response;
      try {
        response = await next(attemptRequest);
      } catch (error) {
        const verdict = classifyError(error, callAborted(state, ctx));
        state.tries.lastFailure = { reason: verdict.reason, error };
        const failure = new AttemptFailure(verdict, undefined, error);
        throw failure;
      }
      state.tries.lastStatus = response.status;
      state.tries.requestId = response.headers.get('request-id') ?? state.tries.requestId;
      if (response.ok) return response;
      const code = response.status === 429 ? errorCodeOf(await ctx.parse(response).catch(() => undefined)) : undefined;
      const verdict = classifyResponse(response.status, response.headers, code);
      state.tries.lastFailure = { status: response.status, reason: verdict.reason };
      const failure = new AttemptFailure(verdict, response, undefined);
      throw failure;
    };
  }

  /**
   * Wraps a streaming response so that a failure before any content is recovered by new attempts within
   * the same body. Publishes the logical stream's outcome on `state.streaming.result`.
   */
  async function resumable(first: Response, attempt: () => Promise<Response>, state: CallState, ctx: MiddlewareContext, url: string): Promise<Response> {
    let current = first;
    let reader = attemptReader(first, state);
    let settle!: (result: StreamResult) => void;
    state.streaming.result = new Promise<StreamResult>((resolve) => (settle = resolve));
    let settled = false;
    const finish = (result: StreamResult) => {
      if (settled) return;
      settled = true;
      settle(result);
    };
    /** Ends the logical stream with what its current attempt saw (usage, model) and how it ended. */
    const finishFromAttempt = (how: StreamOutcome) => {
      const seen = state.streaming.lastAttempt;
      if (!seen) finish(how);
      else void seen.then((result) => finish({ ...streamFacts(result), ...how }));
    };

    /**
     * After a pre-content failure: the response that continues the stream, or how the stream ends — an
     * error, or the last SSE `error` event passed on as the SDK would have seen it without us.
     */
    const recover = async (failure: PreContentFailure): Promise<{ response: Response } | { error: Error } | { event: Uint8Array; failure: PreContentFailure }> => {
      let last = preContentAttemptFailure(failure, state, ctx);
      for (;;) {
        if (callAborted(state, ctx)) return { error: callAbortError(state, ctx) };
        let again: boolean;
        try {
          again = await shouldRetry(last, state, ctx);
        } catch {
          return { error: callAbortError(state, ctx) };
        }
        if (!again) {
          const cause = last.error;
          if (cause instanceof PreContentFailure && cause.kind === 'sse_error') return { event: errorEventBytes(cause.errorBody), failure: cause };
          return { error: await finalError(last, state, url) };
        }
        let response: Response;
        try {
          response = await attempt();
        } catch (thrown) {
          const f = unwrap(thrown);
          if (!f) return { error: thrown instanceof Error ? thrown : new Error(String(thrown)) };
          if (f.verdict.reason === 'caller_abort') return { error: callAbortError(state, ctx) };
          last = f;
          if (!f.verdict.retryable) return { error: await finalError(f, state, url) };
          continue;
        }
        if (response.body && isEventStream(response)) return { response };
        return { error: new Error('stream continuation did not return a stream') };
      }
    };

    /** The next thing the logical stream yields: bytes, or its end (done, an error, a final error event). */
    const step = async (): Promise<StreamStep> => {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (!(error instanceof PreContentFailure)) {
            finishFromAttempt(isAbortError(error) ? { outcome: 'cancelled' } : { outcome: 'failed', error });
            return { end: 'error', error };
          }
          const next = await recover(error);
          if ('error' in next) {
            finish({ outcome: 'failed', error: next.error });
            return { end: 'error', error: next.error };
          }
          if ('event' in next) {
            finish({ outcome: 'failed', error: next.failure });
            return { end: 'event', bytes: next.event };
          }
          current = next.response;
          reader = attemptReader(next.response, state);
          continue;
        }
        if (chunk.done) {
          finish((await state.streaming.lastAttempt) ?? { outcome: 'complete' });
          return { end: 'done' };
        }
        return { chunk: chunk.value };
      }
    };

    // While another attempt may still replace this one, read up to the first content before handing the
    // response on: the SDK takes the request id (withResponse(), MessageStream.request_id) from the
    // headers it is given, which must be those of the attempt that produces the content. Bounded: a
    // stream whose content takes longer than PEEK_MS is handed on as it is and read lazily, as the SDK
    // would (its message_start then arrives PEEK_MS late at most; content never does).
    const peeked: StreamStep[] = [];
    let carried: Promise<StreamStep> | undefined;
    if (state.tries.retries < state.tries.retryBudget && !state.streaming.committed) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PEEK_MS)));
      for (;;) {
        const pending = step();
        const next = await Promise.race([pending, timeUp]);
        if (next === undefined) {
          carried = pending;
          break;
        }
        peeked.push(next);
        if (state.streaming.committed || !('chunk' in next)) break;
      }
      clearTimeout(timer);
    }

    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (peeked.length > 0 && ctx.options?.signal?.aborted) {
          // Aborted before reading: what was read ahead is not handed on, as the SDK alone would have none.
          const reason: unknown = ctx.options.signal.reason;
          peeked.length = 0;
          carried = undefined;
          void reader.cancel(reason).catch(() => undefined);
          finishFromAttempt({ outcome: 'cancelled' });
          controller.error(reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'));
          return;
        }
        let next = peeked.shift();
        if (!next && carried) {
          next = await carried;
          carried = undefined;
        }
        next ??= await step();
        if ('chunk' in next) controller.enqueue(next.chunk);
        else if (next.end === 'error') controller.error(next.error);
        else {
          if (next.end === 'event') controller.enqueue(next.bytes);
          controller.close();
        }
      },
      cancel(reason) {
        const cancelled = reader.cancel(reason);
        finishFromAttempt({ outcome: 'cancelled' });
        return cancelled;
      },
      // Nothing is pulled before the reader asks (a default stream fetches one chunk at once).
    }, { highWaterMark: 0 });
    return withBody(current, body);
  }

  /** The verdict on a stream that failed before content, as an attempt failure. */
  function preContentAttemptFailure(failure: PreContentFailure, state: CallState, ctx: MiddlewareContext): AttemptFailure {
    let verdict: FailureVerdict;
    if (callAborted(state, ctx)) verdict = ABORTED;
    else if (failure.kind === 'sse_error') {
      // Classified like the HTTP error it amounts to, but the response itself was a 200: no status.
      const { status: _status, ...asHttp } = classifyResponse(statusForErrorType(failure.errorType ?? 'api_error'), new Headers());
      verdict = asHttp;
    } else {
      verdict = { reason: failure.kind === 'stalled' ? 'attempt_timeout' : 'stream_interrupted', retryable: true, healthFailure: true };
    }
    state.tries.lastFailure = { reason: verdict.reason, error: failure };
    return new AttemptFailure(verdict, undefined, failure);
  }

  /** The error a stream ends with when its failure is not retried (any more): the SDK's own, as it would build it. */
  async function finalError(last: AttemptFailure, state: CallState, url: string): Promise<Error> {
    const cause = last.error;
    if (last.response) {
      const text = await last.response.text().catch(() => '');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return statusError(last.response.status, body, last.response.headers, sdkErrorOptions(state.options.method, url, last.response));
    }
    if (cause instanceof PreContentFailure) {
      if (cause.kind === 'stalled') return new APIConnectionTimeoutError();
      const lost = cause.cause instanceof Error ? cause.cause : undefined;
      return new StreamInterruptedError(cause.kind === 'cut' ? 'cut' : 'incomplete', 0, lost);
    }
    if (timeoutLike(cause)) return new APIConnectionTimeoutError();
    if (isFetchOriginError(cause)) return new APIConnectionError({ cause: cause as Error });
    return cause instanceof Error ? cause : new Error(String(cause));
  }
}

/**
 * Where a resumable stream reads an attempt's bytes: through the attempt layer's tap (one hop from the
 * wire). When a user middleware handed on another response (its own copy of the body, say), that one is
 * tapped in turn, and the attempt's own tap, which nobody will read, follows it.
 */
function attemptReader(response: Response, state: CallState): Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'> {
  const tap = attemptStreams.get(response);
  if (tap) return tap;
  const own = state.streaming.lastTap;
  if (!own) return response.body!.getReader();
  const replacement = own.replacedBy(response);
  attemptStreams.set(response, replacement);
  state.streaming.lastTap = replacement;
  state.streaming.lastAttempt = replacement.result;
  return replacement;
}

/** How long a resumable stream's response waits for its first content before it is handed on regardless. */
const PEEK_MS = 500;

/** One step of a resumable stream. */
type StreamStep = { readonly chunk: Uint8Array } | { readonly end: 'done' } | { readonly end: 'error'; readonly error: unknown } | { readonly end: 'event'; readonly bytes: Uint8Array };

/** An SSE `error` event carrying the API's error payload, as the server sent it. */
function errorEventBytes(payload: unknown): Uint8Array {
  return new TextEncoder().encode(`event: error\ndata: ${JSON.stringify(payload)}\n\n`);
}

function unwrap(thrown: unknown): AttemptFailure | undefined {
  return thrown instanceof AttemptFailure ? thrown : undefined;
}

function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

const ABORTED: FailureVerdict = { reason: 'caller_abort', retryable: false, healthFailure: false };

function callAborted(state: CallState, ctx: MiddlewareContext): boolean {
  return state.timing.signal?.aborted === true || ctx.options?.signal?.aborted === true;
}

/** The error for a call ended by its caller (abort) or its deadline, raised inside a stream body. */
function callAbortError(state: CallState, ctx: MiddlewareContext): Error {
  if (ctx.options?.signal?.aborted) return new APIUserAbortError();
  return deadlineError(state.timing.deadlineMs ?? 0, state.tries.sent, state.tries.lastFailure);
}
