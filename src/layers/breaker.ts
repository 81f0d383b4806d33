import type { BreakerRegistry } from '../breaker/breaker-registry';
import type { BreakerTicket, CircuitBreaker, HealthVerdict } from '../breaker/circuit-breaker';
import { callState, type CallState } from '../call-state';
import { classifyError } from '../classify';
import type { Middleware } from '../sdk-types';
import { statusForErrorType } from '../stream/error-types';
import type { FirstContent } from '../stream/stream-tap';
import { attemptStreams } from './attempt';

/** The health verdict of a stream's start: content means the service works; so does a 4xx-like error event. */
function streamVerdict(first: FirstContent): HealthVerdict {
  if (first === 'content') return 'healthy';
  if (first === 'cancelled') return 'unknown';
  if (first.kind !== 'sse_error') return 'unhealthy';
  return statusForErrorType(first.errorType ?? 'api_error') >= 500 ? 'unhealthy' : 'healthy';
}

/**
 * Circuit breaker layer, per HTTP request. It admits each attempt before it queues for rate-limit
 * capacity (a call held for the probe's verdict must not sit on capacity others could use) and reports
 * what the attempt said about the service's health: 5xx/529 responses, connection failures, attempt
 * timeouts and streams that fail before their first content are health failures; any other response
 * (4xx, 429 included) proves the service answers. Caller aborts and deadlines say nothing.
 *
 * While the breaker is open no request leaves the process: the attempt waits for the probe's verdict or
 * fails with `CircuitOpenError` (see `CircuitBreaker`). With `fallbackModels`, a call that still has
 * another model to try never waits: the fallback layer moves it on at once.
 */
export function createBreakerLayer(registry: BreakerRegistry, scopeOf: (state: CallState) => string): Middleware {
  return async function breaker(request, next, ctx) {
    const state = callState(ctx);
    if (!state) return next(request);
    const scope = scopeOf(state);
    state.breakerScope = scope;
    const circuit = registry.get(scope);
    const admitted = circuit.admit(
      circuit.state === 'closed'
        ? undefined
        : {
            signal: state.timing.signal ?? request.signal ?? undefined,
            remainingMs: state.timing.deadlineAt === undefined ? undefined : state.timing.deadlineAt - performance.now(),
            failFast: state.breakerFailFast,
            earlier: { sent: state.tries.sent, ...(state.tries.lastStatus !== undefined ? { lastStatus: state.tries.lastStatus } : {}) },
          },
    );
    const ticket = admitted instanceof Promise ? await admitted : admitted;

    let response: Response;
    try {
      response = await next(request);
    } catch (error) {
      const aborted = state.timing.signal?.aborted === true || ctx.options?.signal?.aborted === true;
      circuit.report(ticket, !aborted && classifyError(error, false).healthFailure ? 'unhealthy' : 'unknown');
      throw error;
    }
    reportResponse(circuit, ticket, response);
    return response;
  };
}

function reportResponse(circuit: CircuitBreaker, ticket: BreakerTicket, response: Response): void {
  if (response.status >= 500) return circuit.report(ticket, 'unhealthy');
  const stream = response.ok ? attemptStreams.get(response) : undefined;
  if (!stream) return circuit.report(ticket, 'healthy');
  void stream.firstContent.then((first) => circuit.report(ticket, streamVerdict(first)));
}
