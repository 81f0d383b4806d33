/**
 * `resilient-claude/testing` — a fake Anthropic API server for tests, demos and benchmarks.
 *
 * - {@link FakeAnthropicServer}: start it, point the SDK's `baseURL` at `server.url`.
 * - {@link faults}: builders for the faults it can inject ({@link FaultSpec}).
 * - {@link countInputTokens}: the exact token-counting rule the server uses, so tests can compute
 *   expected `usage` values.
 * - {@link compressedClock}: a fast server clock, so hour-long batch timing ({@link FakeBatchOptions})
 *   plays out in milliseconds.
 *
 * No runtime dependencies beyond Node built-ins (`node:http`, `node:crypto`).
 *
 * @example
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * import { FakeAnthropicServer, faults, countInputTokens } from 'resilient-claude/testing';
 *
 * const server = await FakeAnthropicServer.start({ rateLimits: { rpm: 60, otpm: 8_000 } });
 * const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key' });
 *
 * server.schedule(faults.overloaded(), faults.sseError(3), 'ok');
 * server.inject(faults.reset(), { probability: 0.01 });
 *
 * // … exercise the code under test …
 *
 * const { served, servedResponses } = server.stats(); // exact, even with ledgerLimit
 * await server.close();
 * ```
 *
 * Semantics in brief (details on each export):
 * - Handling order per request: fault (outage → schedule → injected) → API key → validation →
 *   model → rate buckets → answer.
 * - Answers are deterministic for a given request and `seed`; JSON and SSE answers to the same
 *   request carry identical content and usage.
 * - "Served" usage counts only responses written completely (see {@link FakeServerStats.served}).
 *
 * @packageDocumentation
 */
export { FakeAnthropicServer } from './fake-server';
export {
  faults,
  isStreamFault,
  type FaultSpec,
  type FaultErrorType,
  type StatusFault,
  type ResetFault,
  type HangFault,
  type SlowHeadersFault,
  type SseErrorFault,
  type CutStreamFault,
  type TruncateStreamFault,
  type StreamFault,
  type StatusFaultOptions,
  type RateLimitedFaultOptions,
  type InjectWhen,
  type FaultMatchRequest,
  type FaultHandle,
  type ScheduleHandle,
  type OutageHandle,
  type OutageOptions,
} from './faults';
export {
  countInputTokens,
  textTokens,
  IMAGE_TOKENS,
  BINARY_DOCUMENT_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  type CacheTtl,
} from './tokens';
export { defaultOutputTokens, type MessageCreateBody } from './completion';
export { DEFAULT_MODEL_IDS, DEFAULT_MODEL_ALIASES } from './models';
export { FAKE_ORGANIZATION_ID } from './ids';
export { compressedClock } from './batches';
export type { RateLimits } from './rate-buckets';
export type {
  FakeAnthropicOptions,
  LatencyOptions,
  RequestRecord,
  RequestOutcome,
  ServedUsage,
  FakeServerStats,
  FakeBatchOptions,
  FakeBatchItem,
  FakeBatchItemOutcome,
  FakeBatchRecord,
} from './types';
