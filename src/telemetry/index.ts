/**
 * OpenTelemetry enrichment: our facts (attempts, retries, breaker, rate-limit wait, cost, key alias,
 * error class) as attributes on the one call span the Anthropic SDK already emits. No spans of our own.
 *
 * @module
 */
export {
  SPAN_ATTRIBUTES,
  callSpanAttributes,
  captureCallSpan,
  createSpanEnrichmentHook,
  createSpanEnrichmentLayer,
  setCallSpanAttributes,
  spanEnrichmentHook,
  type SpanEnrichmentOptions,
} from './span-enrichment';
