import { callState } from '../call-state';
import type { EventHub } from '../events';
import type { LogSink } from '../logging';
import type { RouteDecision, RouteFunction } from '../routing/simple-task-router';
import type { Middleware } from '../sdk-types';
import { isMessagesCreate } from '../util/http';

function isDecision(value: unknown): value is RouteDecision<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && 'params' in value && Object.keys(value).every((k) => k === 'params' || k === 'reason');
}

/**
 * Route layer (opt-in, `route` option): lets a policy rewrite a Messages call's params once per call
 * before anything is priced, limited or sent — typically a cheaper model for a simple task. Every
 * re-route is logged (info) and written to the call record (`notes.routedFrom`, `notes.routeReason`),
 * and the model that answers is the one that gets priced.
 */
export function createRouteLayer(route: RouteFunction, deps: { events: EventHub; log: LogSink }): Middleware {
  return async function routeLayer(request, next, ctx) {
    const state = callState(ctx);
    if (!state || !isMessagesCreate(state.method, state.path)) return next(request);
    if (state.routedBody !== undefined) return next({ ...request, body: state.routedBody });
    const params = state.params;
    if (typeof params !== 'object' || params === null) return next(request);
    const result = await route(params as Record<string, unknown>);
    const decision = result === undefined ? undefined : isDecision(result) ? result : { params: result };
    if (!decision || decision.params === params) return next(request);
    const from = state.model;
    const to = typeof decision.params.model === 'string' ? decision.params.model : from;
    state.params = decision.params;
    state.model = to;
    state.routedBody = JSON.stringify(decision.params);
    if (to !== from) state.notes.routedFrom = from;
    if (decision.reason) state.notes.routeReason = decision.reason;
    deps.log.log('info', { callId: state.id, from, to, reason: decision.reason }, 'call re-routed');
    return next({ ...request, body: state.routedBody });
  };
}
