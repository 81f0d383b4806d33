/**
 * Prometheus metrics for `ResilientClaude`: {@link ClientMetrics} and its input types. See
 * `client-metrics.ts` for the table of series, labels and label bounds.
 *
 * @module
 */
export {
  ClientMetrics,
  DEFAULT_LABEL_LIMITS,
  DEFAULT_LATENCY_BUCKETS,
  DEFAULT_PREFIX,
  DEFAULT_WAIT_BUCKETS,
  type BreakerStateInput,
  type BudgetInput,
  type ClientMetricsOptions,
  type LabelLimits,
  type MetricsCollectors,
  type RateLimitDimensionInput,
  type RateLimitDimensionName,
  type RateLimitScopeInput,
} from './client-metrics';
export {
  BoundedLabel,
  CALL_OUTCOMES,
  MAX_LABEL_LENGTH,
  NONE_LABEL,
  OVERFLOW_LABEL,
  REDACTED_LABEL,
  callOutcome,
  type CallOutcomeClass,
} from './labels';
