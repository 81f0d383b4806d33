import { trace, type Attributes, type Span } from '@opentelemetry/api';
import { callState, type CallState } from '../call-state';
import type { CallRecord } from '../events';
import type { CompletionHook } from '../call-outcome';
import type { FinalRequestOptions, Middleware } from '../sdk-types';

/**
 * The attributes this library adds to the SDK's call span (`anthropic.messages.create`, …). All live
 * under `resilient_claude.`; none carries a prompt, completion or credential.
 */
export const SPAN_ATTRIBUTES = {
  /** Local id of the call, as in its log record and `callComplete` event (`callId`). */
  callId: 'resilient_claude.call_id',
  /** HTTP attempts sent for the call (int). */
  attempts: 'resilient_claude.attempts',
  /** Retries performed by the retry layer (int). */
  retries: 'resilient_claude.retries',
  /** Circuit-breaker scope of the last attempt. */
  breakerScope: 'resilient_claude.breaker.scope',
  /** State of that breaker when the facts were recorded (`closed`, `open`, `halfOpen`). */
  breakerState: 'resilient_claude.breaker.state',
  /** Time spent waiting for rate-limit capacity, all attempts, ms (int). */
  rateLimitWaitMs: 'resilient_claude.rate_limit.wait_ms',
  /** Cost of the call in USD, when the cost layer priced it. */
  costUsd: 'resilient_claude.cost_usd',
  /** Alias of the pooled API key used by the last attempt (never the key). */
  keyAlias: 'resilient_claude.key_alias',
  /** Class name of the error the caller got (e.g. `OverloadedError`, `CircuitOpenError`). */
  errorClass: 'resilient_claude.error_class',
  /** Why the last attempt failed, when the call failed (e.g. `overloaded`, `connection`). */
  failureReason: 'resilient_claude.failure_reason',
} as const;

/** Options of the span enrichment hook and layer. */
export interface SpanEnrichmentOptions {
  /**
   * The current state of the circuit breaker of a scope (e.g. from the client's breaker registry), for
   * `resilient_claude.breaker.state`. Without it only the scope is recorded.
   */
  readonly breakerState?: (scope: string) => string | undefined;
}

function isSpan(value: unknown): value is Span {
  if (typeof value !== 'object' || value === null) return false;
  const span = value as Partial<Record<keyof Span, unknown>>;
  return typeof span.setAttributes === 'function' && typeof span.isRecording === 'function' && typeof span.spanContext === 'function';
}

/**
 * The SDK's call span of an API call — the one span the SDK emits per call, covering every attempt and
 * the stream read — or `undefined` when the SDK is not tracing the call.
 *
 * - With the call's request options (`ctx.options` / `state.options`; recommended): the span the SDK
 *   carries in them (`__span`, where every part of the SDK records on it). Works anywhere — at call
 *   start, inside layers, and at the end of a stream, when that span is no longer the active one. With
 *   SDK tracing off (`openTelemetry: false`, no tracer provider) it returns `undefined`, even when the
 *   application has a span of its own active: we never write on spans that are not the SDK's.
 * - Without options: `trace.getActiveSpan()`. Inside the SDK's request (our `fetchWithTimeout` override
 *   and every middleware) that is the SDK's call span, as the SDK runs the request in its context — but
 *   only when an async context manager is registered, and with SDK tracing off it is whatever span the
 *   application had active. Prefer passing the options.
 */
export function captureCallSpan(options?: FinalRequestOptions): Span | undefined {
  if (options === undefined) return trace.getActiveSpan();
  const carried = (options as { __span?: { span?: unknown } }).__span?.span;
  return isSpan(carried) ? carried : undefined;
}

/**
 * Sets `attributes` on `span` if it is still recording. The SDK ends a call span when the call fails,
 * when a JSON body has been parsed, or when the application's read of a stream ends; an ended span is
 * left alone (no write, no warning). Never throws.
 *
 * @returns whether the attributes were set.
 */
export function setCallSpanAttributes(span: Span | undefined, attributes: Attributes): boolean {
  if (span === undefined) return false;
  try {
    if (!span.isRecording()) return false;
    span.setAttributes(attributes);
    return true;
  } catch {
    return false; // telemetry never fails a call
  }
}

function keyAliasOf(state: CallState): string | undefined {
  const field = (state as { keyAlias?: unknown }).keyAlias;
  if (typeof field === 'string') return field;
  const noted = state.notes.keyAlias;
  return typeof noted === 'string' ? noted : undefined;
}

/**
 * Our facts about a call as span attributes ({@link SPAN_ATTRIBUTES}): what the call state knows at any
 * time, plus, given the call's record at completion, cost and error class.
 */
export function callSpanAttributes(state: CallState, options: SpanEnrichmentOptions = {}, record?: Partial<CallRecord>): Attributes {
  const attributes: Attributes = {
    [SPAN_ATTRIBUTES.callId]: state.id,
    [SPAN_ATTRIBUTES.attempts]: record?.attempts ?? state.tries.attempts,
    [SPAN_ATTRIBUTES.retries]: state.tries.retries,
    [SPAN_ATTRIBUTES.rateLimitWaitMs]: Math.round(state.rateLimitWaitMs),
  };
  const scope = state.breakerScope;
  if (scope !== undefined) {
    attributes[SPAN_ATTRIBUTES.breakerScope] = scope;
    const breaker = options.breakerState?.(scope);
    if (breaker !== undefined) attributes[SPAN_ATTRIBUTES.breakerState] = breaker;
  }
  const alias = keyAliasOf(state);
  if (alias !== undefined) attributes[SPAN_ATTRIBUTES.keyAlias] = alias;
  if (record?.costUsd !== undefined && Number.isFinite(record.costUsd)) attributes[SPAN_ATTRIBUTES.costUsd] = record.costUsd;
  if (record?.errorClass !== undefined) attributes[SPAN_ATTRIBUTES.errorClass] = record.errorClass;
  if (record?.ok === false && record.failureReason !== undefined) attributes[SPAN_ATTRIBUTES.failureReason] = record.failureReason;
  return attributes;
}

/**
 * A completion hook that adds our facts to the SDK's call span ({@link SPAN_ATTRIBUTES}). It creates no
 * span, and does nothing when the SDK is not tracing the call. Register it after the hooks that
 * complete the record (cost), since it reads `record.costUsd`.
 *
 * Timing: completion hooks run before the SDK ends its span for JSON responses and for thrown errors.
 * For streams they run when the body has arrived in full (or failed) — before the application's read
 * of the stream ends, so the span is still recording. A stream the application abandons early (break,
 * abort) is the exception: the SDK ends the span at once, before the outcome is known, and this hook
 * then leaves the ended span alone — use {@link createSpanEnrichmentLayer} to record the attempt
 * facts on a stream's span as soon as its headers arrive.
 */
export function createSpanEnrichmentHook(options: SpanEnrichmentOptions = {}): CompletionHook {
  return function spanEnrichment(state, _outcome, record) {
    const span = captureCallSpan(state.options);
    if (span === undefined) return; // SDK tracing off: nothing to build
    setCallSpanAttributes(span, callSpanAttributes(state, options, record));
  };
}

/** {@link createSpanEnrichmentHook} without breaker state. */
export const spanEnrichmentHook: CompletionHook = createSpanEnrichmentHook();

/**
 * A per-call layer for streams: when a streaming response's headers arrive, sets the facts known by
 * then (attempts, retries, breaker, key alias, rate-limit wait) on the SDK's call span, so they are
 * there even if the application abandons the stream (which ends the span before the completion hook
 * runs). The completion hook later overwrites them with the final values while the span records.
 * Non-streaming calls pass through untouched; with SDK tracing off, the layer only passes through.
 */
export function createSpanEnrichmentLayer(options: SpanEnrichmentOptions = {}): Middleware {
  return async function spanEnrichment(request, next, ctx) {
    const response = await next(request);
    const span = captureCallSpan(ctx.options);
    if (span === undefined || !response.ok) return response;
    const state = callState(ctx);
    if (state?.stream) setCallSpanAttributes(span, callSpanAttributes(state, options));
    return response;
  };
}
