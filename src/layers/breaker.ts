import type { BreakerRegistry } from '../breaker/breaker-registry';
import { HealthFailure, NotCounted } from '../breaker/breaker-registry';
import { callState, type CallState } from '../call-state';
import { classifyError } from '../classify';
import type { Middleware } from '../sdk-types';

/**
 * Circuit breaker layer (opossum). Innermost but one: it decides at the moment an attempt is sent, after
 * any rate-limit wait. Only health failures count — 5xx/529 responses and transport errors (connection,
 * attempt timeout, a stream cut before content); 4xx and 429 say nothing about the service's health, and
 * caller aborts or deadlines are not the service's fault. While open, no request leaves the process.
 */
export function createBreakerLayer(registry: BreakerRegistry, scopeOf: (state: CallState) => string): Middleware {
  return async function breaker(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    const scope = scopeOf(state);
    state.breakerScope = scope;
    const callSignal = state.signal;
    return registry.get(scope).fire(async () => {
      let response: Response;
      try {
        response = await next(request);
      } catch (error) {
        const aborted = callSignal?.aborted === true || ctx.options?.signal?.aborted === true;
        if (aborted || !classifyError(error, false).healthFailure) throw new NotCounted(error);
        throw error;
      }
      if (response.status >= 500) throw new HealthFailure(response);
      return response;
    }, { sent: state.sent, ...(state.lastStatus !== undefined ? { lastStatus: state.lastStatus } : {}) });
  };
}
