import { callState } from '../call-state';
import { AttemptTimeoutError } from '../classify';
import type { Middleware } from '../sdk-types';
import { tapSseResponse, type TappedStream } from '../stream/stream-tap';

/** Each tapped streaming attempt, by the `Response` the attempt layer returned (for the layers around it). */
export const attemptStreams = new WeakMap<Response, TappedStream>();

function isSse(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').includes('text/event-stream');
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
 * - **Streams** (`tapSseResponse`): no buffering; a failure before content can be resumed by the retry
 *   layer, a failure after it surfaces as an error, and the usage is recorded.
 * - It counts the requests actually sent.
 *
 * @param firstContentTimeoutMs `retry.firstContentTimeoutMs` (0 = no limit).
 */
export function createAttemptLayer(firstContentTimeoutMs: number): Middleware {
  return async function attempt(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    state.sent++;

    let response: Response;
    const timeoutMs = state.attemptTimeoutMs;
    if (timeoutMs === undefined) {
      response = await next(request);
    } else {
      const controller = new AbortController();
      const sources = [request.signal, state.deadlineSignal].filter((s): s is AbortSignal => s != null);
      const follow = (source: AbortSignal) => () => controller.abort(source.reason);
      const links = sources.map((source) => [source, follow(source)] as const);
      for (const [source, onAbort] of links) {
        if (source.aborted) controller.abort(source.reason);
        else source.addEventListener('abort', onAbort, { once: true });
      }
      const timer = setTimeout(() => controller.abort(new AttemptTimeoutError()), timeoutMs);
      try {
        response = await next({ ...request, signal: controller.signal });
      } catch (error) {
        const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
        throw reason instanceof Error ? reason : error;
      } finally {
        clearTimeout(timer);
        // The deadline no longer concerns this attempt once it has an answer; the SDK's controller still
        // does (a caller abort, or a break out of a stream, must cancel the body).
        for (const [source, onAbort] of links) if (source === state.deadlineSignal) source.removeEventListener('abort', onAbort);
      }
    }

    if (!state.stream || !response.ok || !response.body || !isSse(response)) return response;
    const tapped = tapSseResponse(response, {
      firstContentTimeoutMs,
      delivered: state.delivered,
      onCommit: () => state.contentCommitted(),
    });
    attemptStreams.set(tapped.response, tapped);
    state.lastAttemptStream = tapped.result;
    return tapped.response;
  };
}
