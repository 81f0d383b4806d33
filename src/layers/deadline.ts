import { callState } from '../call-state';
import { DeadlineExceededError } from '../errors/deadline-exceeded-error';
import type { Middleware } from '../sdk-types';
import { followSignals } from '../util/abort';

/** Abort reason of a call whose deadline passed (internal; callers get `DeadlineExceededError`). */
export class DeadlineReached extends Error {
  constructor() {
    super('call deadline reached');
    this.name = 'DeadlineReached';
  }
}

/** A signal that aborts when either `a` or `b` does, with a `dispose()` that detaches it again. */
function follow(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  return { signal: controller.signal, dispose: followSignals(controller, [a, b]) };
}

/**
 * Deadline layer: one deadline over the whole call — rate-limit queueing, every attempt and every backoff
 * sleep — where the SDK only bounds each attempt. Without a deadline the call's signal is simply the
 * caller's (nothing is attached to it). With one, the call's signal follows both, the attempts follow the
 * deadline's own signal, and "aborted by the deadline" becomes `DeadlineExceededError`. For a stream the
 * deadline stays armed until content first reaches the reader (a pre-content failure may still be retried
 * inside the body), then disarms: it bounds getting an answer, not reading a long one.
 *
 * @param defaultDeadlineMs the client's `deadline` option (per call: `callOptions({ deadline })`).
 */
export function createDeadlineLayer(defaultDeadlineMs: number | undefined): Middleware {
  return async function deadline(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    const callerSignal = ctx.options?.signal ?? undefined;
    const deadlineMs = state.call.deadline ?? defaultDeadlineMs;
    if (deadlineMs === undefined) {
      state.timing.signal = callerSignal;
      return next(request);
    }
    // Fixed at the call's start, so an SDK-level second pass does not get a fresh deadline.
    state.timing.deadlineMs = deadlineMs;
    state.timing.deadlineAt ??= state.startedAt + deadlineMs;
    const remaining = state.timing.deadlineAt - performance.now();
    if (remaining <= 0) throw deadlineError(deadlineMs, state.tries.sent, state.tries.lastFailure);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineReached()), remaining);
    const combined = callerSignal ? follow(callerSignal, controller.signal) : undefined;
    state.timing.deadlineSignal = controller.signal;
    state.timing.signal = combined?.signal ?? controller.signal;
    const disarm = () => {
      clearTimeout(timer);
      combined?.dispose();
    };
    let keepArmed = false;
    try {
      const response = await next(request);
      // A stream that has not delivered content yet may still be resumed by a new attempt.
      keepArmed = state.stream && response.ok && state.streaming.result !== undefined && !state.streaming.committed;
      if (keepArmed) {
        state.streaming.commitHooks.push(disarm);
        void state.streaming.result?.finally(disarm);
      }
      return response;
    } catch (error) {
      if (controller.signal.aborted && !callerSignal?.aborted) throw deadlineError(deadlineMs, state.tries.sent, state.tries.lastFailure);
      throw error;
    } finally {
      if (!keepArmed) disarm();
    }
  };
}

/** The error for a call whose deadline passed; `lastFailure` is the last attempt's failure, if any. */
export function deadlineError(
  deadlineMs: number,
  attempts: number,
  lastFailure: { status?: number; reason: string; error?: unknown } | undefined,
): DeadlineExceededError {
  return new DeadlineExceededError(deadlineMs, attempts, lastFailure?.error ?? lastFailure);
}
