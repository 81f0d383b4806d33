import { APIConnectionError } from '@anthropic-ai/sdk';
import { callState, type CallState } from '../call-state';
import { AttemptTimeoutError } from '../classify';
import { sdkErrorOptions, sseEventError } from '../sdk/error-options';
import type { Middleware } from '../sdk-types';
import { readBody } from '../stream/read-body';
import { tapSseResponse, type TappedStream } from '../stream/stream-tap';
import { followSignals } from '../util/abort';
import { BufferedJson, BufferedResponse } from '../util/buffered-response';

/**
 * Each tapped streaming attempt, by the `Response` the attempt layer returned: the layers around it wait on
 * its first content and its end, and the retry layer reads the attempt's bytes through it.
 */
export const attemptStreams = new WeakMap<Response, TappedStream>();

const encoder = new TextEncoder();

/**
 * A JSON `Response` made here rather than received (a batched call's answer), read by the layers and the
 * SDK exactly like a buffered one.
 */
export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  const head = { status, statusText: '', headers: new Headers({ 'content-type': 'application/json', ...headers }), url: '', redirected: false };
  return new BufferedResponse(head, new BufferedJson(encoder.encode(JSON.stringify(value))));
}

/** The body the attempt layer read whole, if `response` is one it returned (parsed at most once). */
export function bufferedBody(response: Response): BufferedJson | undefined {
  return response instanceof BufferedResponse ? response.buffered : undefined;
}

function contentType(response: Response): string {
  return response.headers.get('content-type') ?? '';
}


/** Options of the attempt layer. */
export interface AttemptLayerOptions {
  /** `retry.firstContentTimeoutMs` (0 = no limit). */
  readonly firstContentTimeoutMs: number;
  /** `streamIdleTimeoutMs` (0 = no limit): longest silence while a body is read. */
  readonly idleTimeoutMs: number;
}

/**
 * The attempt layer, innermost, around the wire of every HTTP attempt:
 *
 * - **Its own timeout per attempt.** When the call may be retried, the client hands the SDK a timer
 *   that never fires and this layer enforces the SDK's `timeout` instead, on a controller of the
 *   attempt's own. The SDK's per-call controller is then never aborted by a timeout: a later attempt,
 *   and `MessageStream` (which reads that controller when a stream ends), see a live call. The attempt's
 *   controller follows the SDK's (so a caller abort still cancels it) and the call's deadline. Without
 *   retries the SDK's own timer and controller are used unchanged.
 * - **Bodies cannot hang or be cut silently.** The SDK's `timeout` ends at the response headers. A JSON
 *   body is read here, within the attempt: silence beyond `streamIdleTimeoutMs` is an attempt timeout
 *   and a body cut mid-read an `APIConnectionError`, both retried like any transport failure.
 * - **Streams** (`tapSseResponse`): no buffering, and no stream of its own: the response goes on as the
 *   wire gave it (user middleware sees each attempt as sent), and the retry layer reads it through the
 *   tap. A failure or silence before content can be resumed by the retry layer, after it surfaces as
 *   `StreamInterruptedError`, and the usage is recorded.
 * - It counts the requests actually sent.
 */
export function createAttemptLayer(options: AttemptLayerOptions): Middleware {
  return async function attempt(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    state.tries.sent++;

    const timeoutMs = state.timing.attemptTimeoutMs;
    const response = timeoutMs === undefined ? await next(request) : await sendWithOwnTimeout(request, next, state, timeoutMs);
    if (!response.ok || !response.body) return response;
    const type = contentType(response);

    if (state.stream && type.includes('text/event-stream')) {
      const tapped = tapSseResponse(response, {
        firstContentTimeoutMs: options.firstContentTimeoutMs,
        idleTimeoutMs: options.idleTimeoutMs,
        eventError: (payload, headers) => sseEventError(payload, headers, sdkErrorOptions(state.options.method, request.url, response)),
        delivered: state.streaming.delivered,
        onCommit: () => state.streaming.contentCommitted(),
      });
      // The response goes on as the wire gave it: the retry layer reads it through the tap.
      attemptStreams.set(response, tapped);
      state.streaming.lastAttempt = tapped.result;
      state.streaming.lastTap = tapped;
      return response;
    }
    // Only JSON the SDK will parse whole; batch results and other binary downloads stream to the caller.
    if (!type.includes('json') || (state.options as { __binaryResponse?: unknown }).__binaryResponse) return response;

    let bytes: Uint8Array;
    try {
      bytes = await readBody(response.body, options.idleTimeoutMs);
    } catch (error) {
      if (error instanceof AttemptTimeoutError) throw error;
      if (request.signal?.aborted) throw request.signal.reason ?? error;
      throw new APIConnectionError({ message: 'The response body was cut off before its end.', cause: error as Error });
    }
    return new BufferedResponse(response, new BufferedJson(bytes));
  };
}

/** Sends on a controller of the attempt's own, with the SDK's `timeout` (see the layer description). */
async function sendWithOwnTimeout(
  request: Parameters<Middleware>[0],
  next: Parameters<Middleware>[1],
  state: CallState,
  timeoutMs: number,
): Promise<Response> {
  const controller = new AbortController();
  // The SDK's controller stays linked for the attempt's life (a caller abort, or a break out of a
  // stream, must cancel the body); the deadline only until the answer arrives.
  followSignals(controller, [request.signal]);
  const unfollowDeadline = followSignals(controller, [state.timing.deadlineSignal]);
  const timer = setTimeout(() => controller.abort(new AttemptTimeoutError()), timeoutMs);
  try {
    return await next({ ...request, signal: controller.signal });
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    throw reason instanceof Error ? reason : error;
  } finally {
    clearTimeout(timer);
    unfollowDeadline();
  }
}
