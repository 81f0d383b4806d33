import { callState } from '../call-state';
import type { CostTracker } from '../cost/cost-tracker';
import type { Middleware } from '../sdk-types';

/**
 * Budget layer: before anything is sent, reserves the call's worst-case cost (estimated input at the
 * input rate plus `max_tokens` of output). A call that does not fit fails with `BudgetExceededError` and
 * never reaches the network; concurrent calls cannot overshoot because each holds its reservation until
 * the cost hook (run by observe when the call completes) settles it to the actual cost, or releases it
 * when the call failed.
 */
export function createBudgetLayer(tracker: CostTracker): Middleware {
  return async function budget(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    const held = tracker.reserve(state, state.params);
    if (held instanceof Promise) await held;
    return next(request);
  };
}
