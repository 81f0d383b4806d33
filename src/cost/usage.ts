import type { UsageTotals } from '../call-state';
/**
 * Structural views of the SDK's usage objects. `Usage`, `BetaUsage`, `MessageDeltaUsage` and a
 * `MessageStream`-accumulated usage are all assignable to {@link UsageLike}, so the engine needs no
 * runtime dependency on the SDK and accepts partially filled objects (missing or `null` = 0 / not set).
 */

/** TTL split of cache writes (`CacheCreation`). */
export interface CacheCreationLike {
  readonly ephemeral_5m_input_tokens?: number | null;
  readonly ephemeral_1h_input_tokens?: number | null;
}

/** Server tool counters (`ServerToolUsage`). */
export interface ServerToolUseLike {
  readonly web_search_requests?: number | null;
  readonly web_fetch_requests?: number | null;
}

/** One entry of `BetaUsage.iterations`. Only `type: 'compaction'` entries are priced (see `callCost`). */
export interface IterationUsageLike {
  readonly type: string;
  /** Present on `message` (nullable), `advisor_message` and `fallback_message` entries. */
  readonly model?: string | null;
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly cache_creation?: CacheCreationLike | null;
}

/** Anything shaped like the SDK's `Usage` / `BetaUsage` (all fields optional or nullable). */
export interface UsageLike {
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly cache_creation?: CacheCreationLike | null;
  readonly server_tool_use?: ServerToolUseLike | null;
  /** `'standard' | 'priority' | 'batch'`. */
  readonly service_tier?: string | null;
  /** `'standard' | 'fast'`. */
  readonly speed?: string | null;
  /** `'us' | 'global'`. */
  readonly inference_geo?: string | null;
  /** Beta only. */
  readonly iterations?: readonly IterationUsageLike[] | null;
  /** Beta only: `{ status: { type: 'redeemed' | … } }`. */
  readonly fallback_credit?: { readonly status?: { readonly type?: string } | null } | null;
}

/** Token counts of one call, as the ledger stores them. */
export interface TokenCounts {
  /** Uncached input tokens. */
  readonly inputTokens: number;
  /** Output tokens (thinking included). */
  readonly outputTokens: number;
  /** Cache-read input tokens. */
  readonly cacheReadTokens: number;
  /** Cache-write input tokens (5-minute + 1-hour). */
  readonly cacheWriteTokens: number;
}

/** A token count from an untrusted field: non-finite, negative or missing → 0; fractions are floored. */
export function tokenCount(value: number | null | undefined): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0;
  return Math.floor(value);
}

/** Cache-write tokens split by TTL, following the notes: a `null` split prices all writes as 5-minute. */
export function cacheWriteSplit(usage: {
  readonly cache_creation_input_tokens?: number | null;
  readonly cache_creation?: CacheCreationLike | null;
}): { readonly w5m: number; readonly w1h: number } {
  const total = tokenCount(usage.cache_creation_input_tokens);
  const split = usage.cache_creation;
  if (!split) return { w5m: total, w1h: 0 };
  const w5m = tokenCount(split.ephemeral_5m_input_tokens);
  const w1h = tokenCount(split.ephemeral_1h_input_tokens);
  // A total above the split (e.g. a stream whose delta updated the total) prices the rest at the 5m default.
  const rest = total > w5m + w1h ? total - w5m - w1h : 0;
  return { w5m: w5m + rest, w1h };
}

/**
 * Token counts of a usage for the ledger: top-level fields plus any `compaction` iterations (which the
 * API leaves out of the top-level numbers).
 */
export function tokenCounts(usage: UsageLike): TokenCounts {
  let inputTokens = tokenCount(usage.input_tokens);
  let outputTokens = tokenCount(usage.output_tokens);
  let cacheReadTokens = tokenCount(usage.cache_read_input_tokens);
  let { w5m, w1h } = cacheWriteSplit(usage);
  for (const it of usage.iterations ?? []) {
    if (it.type !== 'compaction') continue;
    inputTokens += tokenCount(it.input_tokens);
    outputTokens += tokenCount(it.output_tokens);
    cacheReadTokens += tokenCount(it.cache_read_input_tokens);
    const s = cacheWriteSplit(it);
    w5m += s.w5m;
    w1h += s.w1h;
  }
  return { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens: w5m + w1h };
}

/** The fields of a `message_delta` event's `usage` (SDK `MessageDeltaUsage`, beta adds `iterations`). */
export interface DeltaUsageLike {
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly server_tool_use?: ServerToolUseLike | null;
  readonly iterations?: readonly IterationUsageLike[] | null;
  readonly fallback_credit?: { readonly status?: { readonly type?: string } | null } | null;
}

/**
 * Accumulates streaming usage the way the SDK's `MessageStream` does (notes §5): start from
 * `message_start`'s `message.usage`; each `message_delta.usage` **replaces** every non-null field it
 * carries (values are whole-message totals, never added). `cache_creation`, `service_tier`, `speed` and
 * `inference_geo` come only from `message_start`.
 */
export function mergeStreamUsage(start: UsageLike, delta: DeltaUsageLike | null | undefined): UsageLike {
  if (!delta) return start;
  return {
    ...start,
    output_tokens: delta.output_tokens ?? start.output_tokens ?? 0,
    input_tokens: delta.input_tokens ?? start.input_tokens ?? 0,
    cache_read_input_tokens: delta.cache_read_input_tokens ?? start.cache_read_input_tokens ?? null,
    cache_creation_input_tokens: delta.cache_creation_input_tokens ?? start.cache_creation_input_tokens ?? null,
    server_tool_use: delta.server_tool_use ?? start.server_tool_use ?? null,
    iterations: delta.iterations ?? start.iterations ?? null,
    fallback_credit: delta.fallback_credit ?? start.fallback_credit ?? null,
  };
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Normalises an API `usage` object. */
export function usageTotals(usage: unknown): UsageTotals | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  return {
    inputTokens: num(u.input_tokens),
    outputTokens: num(u.output_tokens),
    cacheReadTokens: num(u.cache_read_input_tokens),
    cacheWriteTokens: num(u.cache_creation_input_tokens),
    raw: u,
  };
}
