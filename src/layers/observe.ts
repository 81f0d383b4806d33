import { APIConnectionError, APIUserAbortError } from '@anthropic-ai/sdk';
import { callState, type CallState, type UsageTotals } from '../call-state';
import type { CallRecord, EventHub } from '../events';
import type { LogSink } from '../logging';
import type { Middleware, MiddlewareContext } from '../sdk-types';
import { bufferedBody } from './attempt';
import type { CallOutcome, CompletionHook, MutableRecord } from '../call-outcome';
import { isJson, isMessagesCreate } from '../util/http';
import { usageTotals } from '../cost/usage';
import { batchSettings } from '../call-options';


/** Dependencies of the observe layer. */
export interface ObserveLayerDeps {
  readonly events: EventHub;
  readonly log: LogSink;
  /** The SDK's error class for a status and body (the client's `makeStatusError`). */
  readonly errorClassFor: (status: number, body: unknown, headers: Headers) => string;
  /** Hooks run at completion, in order. */
  readonly hooks: readonly CompletionHook[];
  /** Called with every completed record (health keeps the last error). */
  readonly onRecord?: (record: CallRecord) => void;
  /** Called once when a call starts (the in-flight gauge). */
  readonly onStart?: (state: CallState) => void;
}

/** The class name of the error the SDK will raise for a thrown attempt error. */
function thrownErrorClass(error: unknown, ctx: MiddlewareContext): string {
  if (ctx.options?.signal?.aborted) return APIUserAbortError.name;
  if (error instanceof Error) {
    if (error instanceof APIConnectionError) return error.name;
    if (/timed? ?out/i.test(String(error))) return 'APIConnectionTimeoutError';
    if (error.name === 'TypeError' || error.name === 'AbortError') return 'APIConnectionError';
    return error.name;
  }
  return 'Error';
}

/**
 * Observe layer: one record per *logical* call — a log line at `info` and a `callComplete` event — with
 * request id, model, user, attempts, status, latency, tokens and error class; never prompts, completions
 * or credentials. Completion hooks (cost ledger, budget settlement, metrics) run here, once per call, when
 * the outcome is known: at the response for JSON, at the end of the body for streams.
 */
export function createObserveLayer(deps: ObserveLayerDeps): Middleware {
  const { events, log, hooks } = deps;

  function complete(state: CallState, outcome: CallOutcome): void {
    const usage = outcome.usage;
    const record: MutableRecord = {
      callId: state.id,
      method: state.method,
      path: state.path,
      stream: state.stream,
      attempts: state.tries.sent,
      ok: outcome.ok,
      latencyMs: Math.round((performance.now() - state.startedAt) * 100) / 100,
      rateLimitWaitMs: Math.round(state.rateLimitWaitMs),
    };
    if (state.model) record.model = state.model;
    if (outcome.responseModel) record.responseModel = outcome.responseModel;
    const user = state.call.user ?? state.user;
    if (user) record.user = user;
    if (state.call.tags?.length) record.tags = state.call.tags;
    if (batchSettings(state.call)) record.batched = true;
    if (state.tries.requestId) record.requestId = state.tries.requestId;
    if (outcome.status !== undefined) record.status = outcome.status;
    if (outcome.errorClass) record.errorClass = outcome.errorClass;
    if (!outcome.ok && state.tries.lastFailure) record.failureReason = state.tries.lastFailure.reason;
    if (usage) {
      record.tokens = {
        input: usage.inputTokens,
        output: usage.outputTokens,
        cacheRead: usage.cacheReadTokens,
        cacheWrite: usage.cacheWriteTokens,
      };
    }
    for (const hook of hooks) {
      try {
        hook(state, outcome, record);
      } catch (error) {
        log.log('error', { callId: state.id, error: error instanceof Error ? error.message : String(error) }, 'completion hook failed');
      }
    }
    if (Object.keys(state.notes).length > 0) record.notes = state.notes;
    deps.onRecord?.(record);
    if (log.enabled('info')) log.log('info', { ...record }, outcome.ok ? 'Anthropic call succeeded' : 'Anthropic call failed');
    events.emit('callComplete', record);
  }

  return async function observe(request, next, ctx) {
    const state = callState(ctx);
    if (!state || state.internal) return next(request);
    if (!state.observed) {
      state.observed = true;
      deps.onStart?.(state);
    }

    let response: Response;
    try {
      response = await next(request);
    } catch (error) {
      if (state.tries.sdkWillRetry) throw error;
      complete(state, { ok: false, errorClass: thrownErrorClass(error, ctx), error, stream: state.stream });
      throw error;
    }
    if (state.tries.sdkWillRetry) return response;
    state.tries.lastStatus = response.status;
    state.tries.requestId = response.headers.get('request-id') ?? state.tries.requestId;

    if (!response.ok) {
      const body = isJson(response) ? await ctx.parse(response).catch(() => undefined) : undefined;
      complete(state, {
        ok: false,
        status: response.status,
        errorClass: deps.errorClassFor(response.status, body, response.headers),
        stream: state.stream,
      });
      return response;
    }

    if (state.stream && state.streaming.result) {
      void state.streaming.result.then((result) => {
        const ok = result.outcome === 'complete';
        complete(state, {
          ok,
          status: response.status,
          ...(result.usage ? { usage: result.usage } : {}),
          ...(result.outputEstimated ? { outputEstimated: true } : {}),
          ...(result.model ? { responseModel: result.model } : {}),
          ...(ok
            ? {}
            : {
                errorClass:
                  result.outcome === 'cancelled' ? 'APIUserAbortError' : result.outcome === 'failed' && result.error instanceof Error ? result.error.name : 'APIError',
                ...(result.outcome === 'failed' ? { error: result.error } : {}),
              }),
          stream: true,
        });
      });
      return response;
    }

    let usage: UsageTotals | undefined;
    let responseModel: string | undefined;
    if (!state.stream && isMessagesCreate(state.method, state.path)) {
      let body: { usage?: unknown; model?: unknown } | undefined;
      const buffered = bufferedBody(response);
      try {
        // Parsed once, here, and shared with the SDK (the attempt layer's buffered response). A user
        // middleware may have handed on a response of its own (`new Response(body, response)`): that one
        // is read through a clone, so its usage is still priced, limited and recorded.
        body = (buffered ? buffered.parse() : isJson(response) ? await ctx.parse(response) : undefined) as typeof body;
      } catch {
        // Not JSON after all: no usage to record; the SDK raises its own error for the body.
      }
      usage = usageTotals(body?.usage);
      if (typeof body?.model === 'string') responseModel = body.model;
    }
    complete(state, {
      ok: true,
      status: response.status,
      ...(usage ? { usage } : {}),
      ...(responseModel ? { responseModel } : {}),
      stream: state.stream,
    });
    return response;
  };
}
