import { resolveRetry, DEFAULTS, type ResilientClaudeOptions } from '../options';
import { buildPipeline, type Pipeline } from '../pipeline';
import { createSpanEnrichmentHook } from '../telemetry';
import type { ClientRuntime } from './client-runtime';
import { batchSettings } from '../call-options';
import type { SdkErrorOptions } from '../sdk/error-options';

/** What the pipeline needs from the SDK client itself. */
export interface SdkFacts {
  /** The client's `maxRetries` (the SDK's resolved value). */
  readonly maxRetries: number;
  /** The SDK's typed error for a status (the client's `makeStatusError`). */
  readonly statusError: (status: number, body: unknown, headers: Headers, options?: SdkErrorOptions) => Error;
}

/** A client's two layer lists, from its options and its (possibly shared) runtime. */
export function pipelineFor(options: ResilientClaudeOptions, runtime: ClientRuntime, sdk: SdkFacts): Pipeline {
  const { costs, breakers } = runtime;
  const rateLimit = options.rateLimit ?? 'auto';
  return buildPipeline({
    events: runtime.events,
    log: runtime.logging.sink,
    retry: resolveRetry(options, sdk.maxRetries),
    deadline: options.deadline,
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs,
    sanitize: options.sanitize === false ? false : (options.sanitize ?? {}),
    route: options.route,
    fallbackModels: options.fallbackModels ?? [],
    costs,
    breakers,
    breakerConfig: runtime.breakerConfig,
    limiter: runtime.limiter,
    keys: runtime.keys,
    rateLimit: rateLimit === 'auto' || rateLimit === false ? {} : rateLimit,
    // The span hook reads what the cost hook wrote: it comes after it.
    hooks: [...(costs ? [costs.hook] : []), createSpanEnrichmentHook({ breakerState: (scope) => breakers?.snapshot()[scope]?.state })],
    // A batched call waits minutes to hours on a batch, not on a connection: health and the
    // active-requests gauge count it under batches, not in flight.
    onStart: (state) => {
      if (!batchSettings(state.call)) runtime.onCallStart();
    },
    onRecord: (record) => runtime.onRecord(record),
    batchQueue: () => runtime.batchQueue(),
    statusError: sdk.statusError,
  });
}
