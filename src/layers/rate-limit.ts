import { callState, type CallState } from '../call-state';
import type { EventHub } from '../events';
import type { LogSink } from '../logging';
import { estimateInputTokens, type Demand, type Permit, type RateLimiter } from '../ratelimit';
import type { Middleware } from '../sdk-types';
import type { CompletionHook } from '../call-outcome';
import { attemptStreams } from './attempt';
import type { RateLimitOptions } from '../options/rate-limit-options';
import { isJson, isMessagesCreate } from '../util/http';

interface JsonBody {
  usage?: { input_tokens?: unknown; output_tokens?: unknown; cache_creation_input_tokens?: unknown; cache_read_input_tokens?: unknown };
  model?: unknown;
}


/** A JSON response's permit, settled when the call completes (observe has the usage then). */
type PendingPermit = NonNullable<CallState['rateLimit']['pending']>;

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}


/** Dependencies of the rate-limit layer. */
export interface RateLimitLayerDeps {
  readonly limiter: RateLimiter;
  readonly options: RateLimitOptions;
  readonly events: EventHub;
  readonly log: LogSink;
  /** Extra scope prefix for the attempt (the key alias when keys do not share limits). */
  readonly scopePrefix?: (state: CallState) => string | undefined;
}

/**
 * Rate-limit layer, per HTTP request (inside retry: every attempt pays). Reserves one request, the
 * estimated input tokens and the output estimate before sending — synchronously when the buckets have
 * room, otherwise waiting in the scope's priority queue (bounded by `maxQueue`, `maxWaitMs`, the call's
 * deadline and abort signal). After the response it corrects the buckets to the actual usage (when the
 * call completes: for JSON once observe has read the body, for streams at the stream's end), learns limits from the `anthropic-ratelimit-*` headers of every response, and a
 * 429's `retry-after` pauses the scope for every caller. Only Messages calls are limited: count_tokens
 * and batches have rate limits of their own.
 */
export function createRateLimitLayer(deps: RateLimitLayerDeps): { middleware: Middleware; hook: CompletionHook } {
  const { limiter, options } = deps;
  const cacheAware = options.cacheAwareInput ?? true;
  const estimateOutput = (state: CallState): number => {
    if (state.call.estimatedOutputTokens !== undefined) return state.call.estimatedOutputTokens;
    const params = state.params as { max_tokens?: unknown } | undefined;
    const maxTokens = num(params?.max_tokens);
    const estimate = options.outputEstimate ?? 'max_tokens';
    if (estimate === 'max_tokens') return maxTokens;
    const value = typeof estimate === 'function' ? estimate(state.params) : estimate;
    return Math.max(0, Math.min(maxTokens || Infinity, Math.round(num(value))));
  };
  const demandOf = (state: CallState): Demand =>
    (state.rateLimit.demand ??= { requests: 1, inputTokens: estimateInputTokens(state.params), outputTokens: estimateOutput(state) });
  const actualInput = (usage: JsonBody['usage']): number =>
    num(usage?.input_tokens) + num(usage?.cache_creation_input_tokens) + (cacheAware ? 0 : num(usage?.cache_read_input_tokens));

  function finishPending(pending: PendingPermit, usage: JsonBody['usage']): void {
    const { permit } = pending;
    if (usage) permit.settle({ kind: 'served', actual: { inputTokens: actualInput(usage), outputTokens: num(usage.output_tokens) } });
    else permit.settle({ kind: 'served', actual: { inputTokens: permit.demand.inputTokens, outputTokens: permit.demand.outputTokens } });
    limiter.observe(pending.scope, pending.headers, pending.status, permit);
  }

  const hook: CompletionHook = (state, outcome) => {
    const pending = state.rateLimit.pending;
    if (!pending) return;
    state.rateLimit.pending = undefined;
    finishPending(pending, outcome.ok ? (outcome.usage?.raw as JsonBody['usage']) : undefined);
  };

  const middleware: Middleware = async function rateLimit(request, next, ctx) {
    const state = callState(ctx);
    if (!state || !isMessagesCreate(state.method, state.path)) return next(request);
    const prefix = deps.scopePrefix?.(state);
    const base = options.scope === 'client' ? 'client' : (state.model ?? 'default');
    const scope = prefix ? `${prefix}:${base}` : base;

    // A queued request ends when its call does. Without a deadline the SDK's per-request signal already
    // follows the caller's, so the wait listens there rather than piling listeners onto a long-lived
    // caller signal shared by many calls.
    const waitSignal = state.timing.deadlineSignal ? state.timing.signal : (request.signal ?? state.timing.signal);
    const acquired = limiter.acquire(scope, demandOf(state), {
      priority: state.call.priority ?? 0,
      ...(waitSignal ? { signal: waitSignal } : {}),
      ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    });
    const permit: Permit = acquired instanceof Promise ? await acquired : acquired;
    state.rateLimitWaitMs += permit.waitedMs;

    let response: Response;
    try {
      response = await next(request);
    } catch (error) {
      permit.settle({ kind: 'failed' });
      throw error;
    }

    if (response.status === 429) {
      permit.settle({ kind: 'rejected' });
      limiter.observe(scope, response.headers, 429, permit);
      return response;
    }
    if (!response.ok) {
      permit.settle({ kind: 'failed' });
      limiter.observe(scope, response.headers, response.status, permit);
      return response;
    }

    const streamed = attemptStreams.get(response)?.result;
    if (streamed) {
      // The server reserved output at the start and the headers say so: learn now, settle at the end.
      limiter.observe(scope, response.headers, response.status, permit);
      void streamed.then((result) => {
        const usage = result.usage?.raw as JsonBody['usage'];
        if (result.outcome === 'complete' && usage) {
          permit.settle({ kind: 'served', actual: { inputTokens: actualInput(usage), outputTokens: num(usage.output_tokens) } });
        } else {
          permit.settle(usage ? { kind: 'failed', actual: { inputTokens: actualInput(usage), outputTokens: num(usage.output_tokens) } } : { kind: 'failed' });
        }
      });
      return response;
    }

    if (isJson(response)) {
      // A complete response's headers already count its actual usage, so the permit is settled before the
      // headers are applied — both when observe has read the body (the completion hook below), which
      // spares reading the body here a second time.
      const earlier = state.rateLimit.pending;
      // A user middleware that called next() more than once: the earlier response is not the answer.
      if (earlier) finishPending(earlier, undefined);
      state.rateLimit.pending = { permit, scope, headers: response.headers, status: response.status };
      return response;
    }

    permit.settle({ kind: 'served', actual: { inputTokens: permit.demand.inputTokens, outputTokens: permit.demand.outputTokens } });
    limiter.observe(scope, response.headers, response.status, permit);
    return response;
  };
  return { middleware, hook };
}
