import { callState, type StreamResult } from '../call-state';
import type { Middleware } from '../sdk-types';
import { tapSseResponse } from '../stream/stream-tap';

/** Outcome of each guarded streaming attempt, by the `Response` the guard returned (for inner layers). */
export const attemptStreamResults = new WeakMap<Response, Promise<StreamResult>>();

function isSse(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').includes('text/event-stream');
}

/**
 * Stream guard, innermost: taps every successful SSE response of the attempt (see `tapSseResponse`) —
 * no buffering, events pass as soon as they are complete — so that a stream failing before its first
 * content can be resumed by the retry layer, a stream failing after it surfaces as an error, and the
 * stream's usage is known to the layers that account for it.
 *
 * @param firstContentTimeoutMs `retry.firstContentTimeoutMs` (0 = no limit).
 */
export function createStreamGuardLayer(firstContentTimeoutMs: number): Middleware {
  return async function streamGuard(request, next, ctx) {
    const state = callState(ctx);
    if (state) state.sent++;
    const response = await next(request);
    if (!state || !state.stream || !response.ok || !response.body || !isSse(response)) return response;
    const tapped = tapSseResponse(response, {
      firstContentTimeoutMs,
      delivered: state.delivered,
      onCommit: () => state.contentCommitted(),
    });
    attemptStreamResults.set(tapped.response, tapped.result);
    state.lastAttemptStream = tapped.result;
    return tapped.response;
  };
}
