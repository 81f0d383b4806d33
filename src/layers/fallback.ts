import { callState } from '../call-state';
import { CircuitOpenError } from '../errors/circuit-open-error';
import type { LogSink } from '../logging';
import type { Middleware } from '../sdk-types';
import { isMessagesCreate } from '../util/http';

/**
 * Fallback layer (opt-in, `fallbackModels`): when a call's model is overloaded — a 529 after its retries,
 * or its (per-model) breaker open — the call is sent again on the next model of the list, with a fresh
 * round of retries. The response's real model is what gets priced. Applies to Messages calls whose
 * overload shows before a response starts; a stream that has begun is not switched mid-way.
 */
export function createFallbackLayer(fallbackModels: readonly string[], deps: { log: LogSink }): Middleware {
  return async function fallback(request, next, ctx) {
    const state = callState(ctx);
    if (!state || !isMessagesCreate(state.method, state.path) || !state.model) return next(request);
    const first = state.model;
    const chain = [first, ...fallbackModels.filter((m) => m !== first)];
    let attemptRequest = request;
    for (let i = 0; ; i++) {
      const last = i === chain.length - 1;
      let response: Response;
      state.breakerFailFast = !last;
      try {
        response = await next(attemptRequest);
      } catch (error) {
        if (last || !(error instanceof CircuitOpenError)) throw error;
        attemptRequest = switchModel(chain[i + 1]!);
        continue;
      }
      if (response.status !== 529 || last) return response;
      await response.body?.cancel().catch(() => undefined);
      attemptRequest = switchModel(chain[i + 1]!);
    }

    function switchModel(model: string) {
      const params = { ...(state!.params as Record<string, unknown>), model };
      deps.log.log('warn', { callId: state!.id, from: state!.model, to: model }, 'model overloaded: falling back');
      state!.notes.fallbackFrom ??= first;
      state!.notes.fallbackTo = model;
      state!.params = params;
      state!.model = model;
      state!.tries.retries = 0;
      const body = JSON.stringify(params);
      state!.routedBody = body;
      return { ...request, body };
    }
  };
}
