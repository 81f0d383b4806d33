import { callState, type CallState } from '../call-state';
import type { EventHub } from '../events';
import type { LogSink } from '../logging';
import { estimateInputTokens, type Demand, type Permit, type RateLimiter } from '../ratelimit';
import type { Middleware } from '../sdk-types';
import type { CompletionHook } from './observe';
import { attemptStreams } from './attempt';

/** The `rateLimit` option (object form). */
export interface RateLimitOptions {
  /** Requests per minute ceiling. Headers can only lower it. Giving any of rpm/itpm/otpm selects explicit mode. */
  rpm?: number;
  /** Input tokens per minute ceiling. */
  itpm?: number;
  /** Output tokens per minute ceiling. */
  otpm?: number;
  /** In-flight requests per scope (per process). Default: no cap. */
  maxConcurrent?: number;
  /** Calls waiting per scope (per process) before `RateLimitQueueFullError`. Default 1000. */
  maxQueue?: number;
  /** Longest wait for capacity before `RateLimitWaitExceededError`. Default: no limit (the deadline bounds it). */
  maxWaitMs?: number;
  /**
   * Output tokens to reserve per call: `'max_tokens'` (default — what the API itself reserves against
   * OTPM, so the only choice that never draws a 429), a fixed number, or a function of the params.
   */
  outputEstimate?: 'max_tokens' | number | ((params: unknown) => number);
  /** Cache reads do not count toward input tokens (most models' ITPM is cache-aware). Default true. */
  cacheAwareInput?: boolean;
  /** Buckets per requested model (`'model'`, default: Anthropic limits per model class) or one for the client. */
  scope?: 'model' | 'client';
  /** `'auto'` mode, before a scope's first rate-limit headers: most calls in flight. Default 4. */
  startupConcurrency?: number;
}

interface JsonBody {
  usage?: { input_tokens?: unknown; output_tokens?: unknown; cache_creation_input_tokens?: unknown; cache_read_input_tokens?: unknown };
  model?: unknown;
}

const MESSAGES_PATH = /\/v1\/messages(?:\?|$)/;

/** A JSON response's permit, settled when the call completes (observe has the usage then). */
interface PendingPermit {
  readonly permit: Permit;
  readonly scope: string;
  readonly headers: Headers;
  readonly status: number;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function isJson(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').includes('json');
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
  const demands = new WeakMap<CallState, Demand>();
  const demandOf = (state: CallState): Demand => {
    let demand = demands.get(state);
    if (!demand) {
      demand = { requests: 1, inputTokens: estimateInputTokens(state.params), outputTokens: estimateOutput(state) };
      demands.set(state, demand);
    }
    return demand;
  };
  const pendingPermits = new WeakMap<CallState, PendingPermit>();
  const actualInput = (usage: JsonBody['usage']): number =>
    num(usage?.input_tokens) + num(usage?.cache_creation_input_tokens) + (cacheAware ? 0 : num(usage?.cache_read_input_tokens));

  function finishPending(pending: PendingPermit, usage: JsonBody['usage']): void {
    const { permit } = pending;
    if (usage) permit.settle({ kind: 'served', actual: { inputTokens: actualInput(usage), outputTokens: num(usage.output_tokens) } });
    else permit.settle({ kind: 'served', actual: { inputTokens: permit.demand.inputTokens, outputTokens: permit.demand.outputTokens } });
    limiter.observe(pending.scope, pending.headers, pending.status, permit);
  }

  const hook: CompletionHook = (state, outcome) => {
    const pending = pendingPermits.get(state);
    if (!pending) return;
    pendingPermits.delete(state);
    finishPending(pending, outcome.ok ? (outcome.usage?.raw as JsonBody['usage']) : undefined);
  };

  const middleware: Middleware = async function rateLimit(request, next, ctx) {
    const state = callState(ctx);
    if (!state || state.method !== 'POST' || !MESSAGES_PATH.test(state.path)) return next(request);
    const prefix = deps.scopePrefix?.(state);
    const base = options.scope === 'client' ? 'client' : (state.model ?? 'default');
    const scope = prefix ? `${prefix}:${base}` : base;

    // A queued request ends when its call does. Without a deadline the SDK's per-request signal already
    // follows the caller's, so the wait listens there rather than piling listeners onto a long-lived
    // caller signal shared by many calls.
    const waitSignal = state.deadlineSignal ? state.signal : (request.signal ?? state.signal);
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
        if (result.complete && usage) {
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
      const earlier = pendingPermits.get(state);
      // A user middleware that called next() more than once: the earlier response is not the answer.
      if (earlier) finishPending(earlier, undefined);
      pendingPermits.set(state, { permit, scope, headers: response.headers, status: response.status });
      return response;
    }

    permit.settle({ kind: 'served', actual: { inputTokens: permit.demand.inputTokens, outputTokens: permit.demand.outputTokens } });
    limiter.observe(scope, response.headers, response.status, permit);
    return response;
  };
  return { middleware, hook };
}
