/**
 * resilient-claude: a drop-in `Anthropic` client with retries done right, a circuit breaker, deadlines,
 * token-aware rate limiting, cost tracking and budgets, input checks, structured logs, metrics and
 * events. `new Anthropic(opts)` → `new ResilientClaude(opts)`.
 *
 * @packageDocumentation
 */
export { ResilientClaude } from './client';
export { ResilientClaude as default } from './client';
export { callOptions, CALL_OPTIONS_KEY, type BatchCallSettings, type ResilientCallOptions } from './call-options';
export type { BatchOptions } from './options/batch-options';
export type { Batching } from './batch/batching';
export type { RecoveredBatchCall, ResumeOptions } from './batch/batch-queue';
export type { PersistedCall } from './batch/redis-batch-store';
export {
  DEFAULTS,
  type BreakerOptions,
  type BreakerScope,
  type LoggerOption,
  type ResilientClaudeOptions,
  type RetryOptions,
} from './options';
export type { SanitizeOptions } from './options/sanitize-options';
export type { RateLimitOptions } from './options/rate-limit-options';
export type { CostQuery, CostsView } from './cost/cost-tracker';
export type { CostOptions } from './options/cost-options';
export type {
  BatchEndedEvent,
  BatchSubmittedEvent,
  BreakerState,
  BreakerStateChangeEvent,
  BudgetWarningEvent,
  CallRecord,
  CallTokens,
  CostEvent,
  KeyQuarantinedEvent,
  RateLimitedEvent,
  RedisStateEvent,
  ResilientClaudeEventName,
  ResilientClaudeEvents,
  ResilientClaudeListener,
  RetryEvent,
  SuspiciousInputEvent,
  UnknownModelEvent,
} from './events';
export type { FailureReason } from './classify';
export type { HealthSnapshot, ProbeState } from './health';
export type { HealthProbeOptions } from './options/health-probe-options';
export type { BreakerSnapshot } from './breaker/circuit-breaker';
export { createHealthHandler, type HealthHandler, type HealthHandlerOptions } from './health';
export { ClientMetrics, type ClientMetricsOptions } from './metrics';
export { KeyPool, type ApiKeyInput, type ApiKeysOptions, type KeySnapshot, type KeyStrategy } from './keys';
export type { ScopeSnapshot, DimensionSnapshot } from './ratelimit';
export {
  BUILTIN_PRICE_ROWS,
  PriceTable,
  callCost,
  worstCaseCost,
  type BudgetOptions,
  type BudgetState,
  type CallCost,
  type CostSummary,
  type ModelTotals,
  type PartyTotals,
  type PriceRowInput,
} from './cost';
export { DEFAULT_INJECTION_PATTERNS, type InjectionPattern } from './sanitize';
export {
  keywordClassifier,
  simpleTaskRouter,
  usesPromptCache,
  type RouteDecision,
  type RouteFunction,
  type SimpleTaskRouterOptions,
  type TaskClassifier,
} from './routing/simple-task-router';
export { maskKey, resolveApiKey, resolveApiKeySync, type ResolvedApiKey } from './security';
// Errors: ours all extend ResilientClaudeError (StreamInterruptedError extends the SDK's APIConnectionError).
export { ResilientClaudeError } from './errors/resilient-claude-error';
export { ConfigError } from './errors/config-error';
export { SdkCompatibilityError } from './errors/sdk-compatibility-error';
export { SUPPORTED_SDK_RANGE } from './sdk/seams';
export { CircuitOpenError } from './errors/circuit-open-error';
export { DeadlineExceededError } from './errors/deadline-exceeded-error';
export { InputRejectedError } from './errors/input-rejected-error';
export { StreamInterruptedError } from './errors/stream-interrupted-error';
export { BudgetExceededError } from './errors/budget-exceeded-error';
export { RateLimitQueueFullError } from './errors/rate-limit-queue-full-error';
export { RateLimitWaitExceededError } from './errors/rate-limit-wait-exceeded-error';
export { RateLimitCapacityError } from './errors/rate-limit-capacity-error';
export { NoUsableKeyError } from './errors/no-usable-key-error';
export { KeyStoreError } from './errors/key-store-error';
export { BatchCallError, type BatchCallFailure } from './errors/batch-call-error';
export { RateLimitStoreUnavailableError } from './ratelimit/errors';
export { CostStoreUnavailableError } from './cost/errors';
// The SDK's own error classes and types, so one import serves both.
export {
  Anthropic,
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIPromise,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
  type ClientOptions,
  type Middleware,
  type MiddlewareContext,
  type MiddlewareNext,
} from '@anthropic-ai/sdk';
