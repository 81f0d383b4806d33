import { callState } from '../call-state';
import { DeadlineExceededError } from '../errors/deadline-exceeded-error';
import type { Middleware } from '../sdk-types';

/** Abort reason of a call whose deadline passed (internal; callers get `DeadlineExceededError`). */
export class DeadlineReached extends Error {
  constructor() {
    super('call deadline reached');
    this.name = 'DeadlineReached';
  }
}

/**
 * Deadline layer: one deadline over the whole call — rate-limit queueing, every attempt and every backoff
 * sleep — where the SDK only bounds each attempt. It sets the call's abort signal (derived from the
 * caller's signal, plus the deadline) that the inner layers and every attempt follow, and turns "aborted
 * by the deadline" into `DeadlineExceededError`. For a stream, the deadline stays armed until content
 * first reaches the reader (a pre-content failure may still be retried inside the body), then disarms:
 * it bounds getting an answer, not reading a long one.
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
      // A derived signal: attempts follow it without adding listeners to the caller's own signal.
      state.signal = callerSignal ? AbortSignal.any([callerSignal]) : undefined;
      return next(request);
    }
    // Fixed at the call's start, so an SDK-level second pass does not get a fresh deadline.
    state.deadlineMs = deadlineMs;
    state.deadlineAt ??= state.startedAt + deadlineMs;
    const remaining = state.deadlineAt - performance.now();
    if (remaining <= 0) throw deadlineError(deadlineMs, state.sent, state.lastFailure);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineReached()), remaining);
    const disarm = () => clearTimeout(timer);
    state.signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
    let keepArmed = false;
    try {
      const response = await next(request);
      // A stream that has not delivered content yet may still be resumed by a new attempt.
      keepArmed = state.stream && response.ok && state.streamResult !== undefined;
      if (keepArmed && state.committed) keepArmed = false;
      if (keepArmed) {
        state.commitHooks.push(disarm);
        void state.streamResult?.finally(disarm);
      }
      return response;
    } catch (error) {
      if (controller.signal.aborted && !callerSignal?.aborted) throw deadlineError(deadlineMs, state.sent, state.lastFailure);
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
