/**
 * resilient-claude: a drop-in `Anthropic` client with retries done right, a circuit breaker, deadlines,
 * structured logs and events. `new Anthropic(opts)` → `new ResilientClaude(opts)`.
 *
 * @packageDocumentation
 */
export { ResilientClaude } from './client';
export { ResilientClaude as default } from './client';
export { callOptions, CALL_OPTIONS_KEY, type ResilientCallOptions } from './call-options';
export {
  DEFAULTS,
  type BreakerOptions,
  type BreakerScope,
  type LoggerOption,
  type ResilientClaudeOptions,
  type RetryOptions,
} from './options';
export type {
  BreakerState,
  BreakerStateChangeEvent,
  CallRecord,
  CallTokens,
  ResilientClaudeEventName,
  ResilientClaudeEvents,
  ResilientClaudeListener,
  RetryEvent,
} from './events';
export type { FailureReason } from './classify';
export type { HealthSnapshot } from './health';
export type { BreakerSnapshot } from './breaker/breaker-registry';
export { ResilientClaudeError } from './errors/resilient-claude-error';
export { ConfigError } from './errors/config-error';
export { CircuitOpenError } from './errors/circuit-open-error';
export { DeadlineExceededError } from './errors/deadline-exceeded-error';
export { InputRejectedError } from './errors/input-rejected-error';
export { StreamInterruptedError } from './errors/stream-interrupted-error';
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
