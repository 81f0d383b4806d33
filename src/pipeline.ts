import type { BreakerRegistry } from './breaker/breaker-registry';
import type { CallState } from './call-state';
import type { CostTracker } from './cost/cost-tracker';
import type { EventHub } from './events';
import { createBreakerLayer } from './layers/breaker';
import { createBatchLayer } from './layers/batch';
import type { BatchQueue } from './batch/batch-queue';
import { createBudgetLayer } from './layers/budget';
import { createFallbackLayer } from './layers/fallback';
import { createRouteLayer } from './layers/route';
import type { RouteFunction } from './routing/simple-task-router';
import type { KeyPool } from './keys';
import { createKeysLayer, keyAliasOf } from './layers/keys';
import { createRateLimitLayer } from './layers/rate-limit';
import type { RateLimitOptions } from './options/rate-limit-options';
import type { SanitizeOptions } from './options/sanitize-options';
import type { CompletionHook } from './call-outcome';
import type { RateLimiter } from './ratelimit';
import { createDeadlineLayer } from './layers/deadline';
import { createObserveLayer, type ObserveLayerDeps } from './layers/observe';
import { createRetryLayer } from './layers/retry';
import { createSanitizeLayer } from './layers/sanitize';
import { createAttemptLayer } from './layers/attempt';
import type { LogSink } from './logging';
import type { ResolvedBreakerOptions, ResolvedRetryOptions } from './options';
import type { Middleware } from './sdk-types';
import type { SdkErrorOptions } from './sdk/error-options';

/** Everything the layers are built from: the client's resolved options and its shared state. */
export interface PipelineParts {
  readonly events: EventHub;
  readonly log: LogSink;
  readonly retry: ResolvedRetryOptions;
  readonly deadline: number | undefined;
  /** `streamIdleTimeoutMs`, resolved (0 = no limit). */
  readonly streamIdleTimeoutMs: number;
  readonly sanitize: SanitizeOptions | false;
  readonly route: RouteFunction | undefined;
  readonly fallbackModels: readonly string[];
  readonly costs: CostTracker | undefined;
  readonly breakers: BreakerRegistry | undefined;
  readonly breakerConfig: ResolvedBreakerOptions;
  readonly limiter: RateLimiter | undefined;
  readonly keys: KeyPool | undefined;
  readonly rateLimit: RateLimitOptions;
  readonly hooks: readonly CompletionHook[];
  readonly onRecord: ObserveLayerDeps['onRecord'];
  readonly onStart: ObserveLayerDeps['onStart'];
  /** The client's batch queue (for `batch: true` calls), built on first use. */
  readonly batchQueue: () => BatchQueue;
  /** The SDK's typed error for a status (the client's `makeStatusError`). */
  readonly statusError: (status: number, body: unknown, headers: Headers, options?: SdkErrorOptions) => Error;
}

function breakerScopeOf(config: ResolvedBreakerOptions): (state: CallState) => string {
  return config.scope === 'model' ? (state) => state.model ?? 'default' : () => 'default';
}

/** The two layer lists of a client. */
export interface Pipeline {
  /** Once per logical call, outermost first (around each SDK attempt, outside user middleware). */
  readonly call: Middleware[];
  /** Once per HTTP request, innermost (the SDK's `backendMiddleware()`, inside user middleware). */
  readonly request: Middleware[];
}

/**
 * Builds both lists. Their order is the architecture.
 *
 * **Per logical call** — they run where the SDK's own retry loop sat, around each SDK attempt and
 * outside user middleware, so user middleware still sees every HTTP attempt as the SDK documents:
 *
 * sanitize → route → observe → budget → batch → deadline → fallback → retry
 *
 * - sanitize first: a malformed or refused call costs nothing, not even a log record of a "call";
 * - route next (opt-in): the call is recorded, priced and limited as the model it will really use;
 * - observe: one record per call, whatever the inner layers decide (budget refusals included); its
 *   completion hooks settle rate-limit permits, price the call, settle the budget, enrich the span;
 * - budget before deadline: a refused reservation fails at once rather than being timed;
 * - batch (for `batch: true` calls only) after observe and budget, which apply to a batched call as to
 *   any, and before deadline, fallback and retry: its answer comes from a Message Batch, not the wire;
 * - deadline around fallback and retry: one deadline over queueing, every attempt and every sleep;
 * - fallback (opt-in) around retry: a model overloaded after its retries hands over to the next one.
 *
 * **Per HTTP request** — innermost, so they see exactly what is sent, fallback hops included:
 *
 * keys → breaker → rateLimit → attempt
 *
 * - keys first: the key chosen for the attempt decides the rate-limit scope (when keys do not share
 *   limits), and a refused key (401/403) is swapped for another within the same attempt;
 * - breaker before rateLimit: a call held until the breaker's probe says the service is back must not sit
 *   on rate-limit capacity meanwhile, and a call refused by an open breaker never takes any;
 * - attempt closest to the wire: each attempt's own timeout, and the raw stream of every attempt.
 */
export function buildPipeline(parts: PipelineParts): Pipeline {
  const keys = parts.keys;
  const rateLimit = parts.limiter
    ? createRateLimitLayer({
        limiter: parts.limiter,
        options: parts.rateLimit,
        events: parts.events,
        log: parts.log,
        // Keys of one organization share its limits; keys of different ones get buckets each.
        ...(keys ? { scopePrefix: (state: CallState) => keys.rateLimitScope(keyAliasOf(state)) } : {}),
      })
    : undefined;
  // Permits are settled first: pricing and spans read what is settled, never the other way round.
  const hooks = [...(rateLimit ? [rateLimit.hook] : []), ...parts.hooks];

  const call: Middleware[] = [
    ...(parts.sanitize ? [createSanitizeLayer(parts.sanitize, parts)] : []),
    ...(parts.route ? [createRouteLayer(parts.route, parts)] : []),
    createObserveLayer({
      events: parts.events,
      log: parts.log,
      errorClassFor: (status, body, headers) => parts.statusError(status, body, headers).name,
      hooks,
      ...(parts.onRecord ? { onRecord: parts.onRecord } : {}),
      ...(parts.onStart ? { onStart: parts.onStart } : {}),
    }),
    ...(parts.costs?.budget ? [createBudgetLayer(parts.costs)] : []),
    createBatchLayer(parts.batchQueue),
    createDeadlineLayer(parts.deadline),
    ...(parts.fallbackModels.length ? [createFallbackLayer(parts.fallbackModels, parts)] : []),
    createRetryLayer({ config: parts.retry, events: parts.events, log: parts.log, statusError: parts.statusError }),
  ];

  const request: Middleware[] = [
    ...(keys
      ? [createKeysLayer(keys, { log: parts.log, onKeyQuarantined: (event) => parts.events.emit('keyQuarantined', event) })]
      : []),
    ...(parts.breakers ? [createBreakerLayer(parts.breakers, breakerScopeOf(parts.breakerConfig))] : []),
    ...(rateLimit ? [rateLimit.middleware] : []),
    createAttemptLayer({ firstContentTimeoutMs: parts.retry.firstContentTimeoutMs, idleTimeoutMs: parts.streamIdleTimeoutMs }),
  ];
  return { call, request };
}
