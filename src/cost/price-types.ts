/**
 * Shapes of the price table's rows (the data in `price-data.ts` and the user's `cost.prices` overrides).
 * All rates are USD per million tokens, as decimal strings (or numbers) with at most 5 decimals.
 */

/** Model family, as in the SDK's `ModelLine` (`ModelInfo.line`). */
export type ModelLine = 'haiku' | 'sonnet' | 'opus' | 'fable' | 'mythos';

/** All model lines, newest-naming first. */
export const MODEL_LINES: readonly ModelLine[] = ['fable', 'mythos', 'opus', 'sonnet', 'haiku'];

/** The five per-model token rates. */
export type RateKey = 'input' | 'output' | 'cacheWrite5m' | 'cacheWrite1h' | 'cacheRead';

/** All rate keys, in display order. */
export const RATE_KEYS: readonly RateKey[] = ['input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead'];

/** A rate in USD per million tokens: a decimal string such as `"3.75"` (preferred: exact) or a number. */
export type RateValue = string | number;

/** The five token rates of a card, USD per million tokens. */
export interface PriceRates {
  /** Uncached input tokens (`usage.input_tokens`). */
  readonly input: RateValue;
  /** Output tokens, thinking included (`usage.output_tokens`). */
  readonly output: RateValue;
  /** 5-minute cache writes (`cache_creation.ephemeral_5m_input_tokens`). */
  readonly cacheWrite5m: RateValue;
  /** 1-hour cache writes (`cache_creation.ephemeral_1h_input_tokens`). */
  readonly cacheWrite1h: RateValue;
  /** Cache reads (`cache_read_input_tokens`). */
  readonly cacheRead: RateValue;
}

/**
 * A prompt-length tier: when a request's prompt (`input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens`) is **over** `abovePromptTokens`, every category of that request is
 * priced from this tier instead of the base rates (Haiku 5.5 above 100,000 tokens; Opus/Sonnet 4.6
 * above 200K before 2026-03-13).
 */
export interface PriceTier {
  /** The tier applies when the prompt is strictly greater than this many tokens. */
  readonly abovePromptTokens: number;
  /** Standard-speed rates in this tier. */
  readonly rates: PriceRates;
  /** Fast-mode rates in this tier, when known. */
  readonly fast?: PriceRates;
}

/**
 * One effective-dated price row for one model id. Several rows for the same `model` form its price
 * history; the row whose `effectiveFrom` is the latest one at or before the call time applies.
 */
export interface PriceRowInput {
  /** Canonical model id (the alias form, e.g. `claude-haiku-4-5`). */
  readonly model: string;
  /** Other ids that mean the same model (dated snapshots such as `claude-haiku-4-5-20251001`, `-latest`). */
  readonly aliases?: readonly string[];
  /** Model family; used for the unknown-model fallback. */
  readonly line: ModelLine;
  /**
   * Version within the line used to find "the newest priced model of a line" for unknown ids (e.g. 5.5,
   * 4.6). Default: parsed from the id (`claude-opus-4-6` → 4.6, `claude-3-5-haiku-…` → 3.5), else 0.
   */
  readonly version?: number;
  /** First instant the row applies: `'YYYY-MM-DD'` (00:00 UTC) or epoch ms. Default: the beginning of time. */
  readonly effectiveFrom?: string | number;
  /** Standard-speed rates. */
  readonly rates: PriceRates;
  /**
   * Fast-mode card (`usage.speed === 'fast'`), cache multipliers already applied. When absent and a
   * response says it ran fast, the engine estimates 2× every standard category and marks the cost
   * approximate (the only published first-party fast cards are 2× standard).
   */
  readonly fast?: PriceRates;
  /** Prompt-length tiers, checked from the highest threshold down. */
  readonly tiers?: readonly PriceTier[];
  /** Whether `inference_geo: "us"` costs 1.1× (Claude 4.6 and later). Default false. */
  readonly dataResidency?: boolean;
  /** Whether a refusal before any output is not billed ([FB], Fable). Default false. */
  readonly freeRefusals?: boolean;
  /** Source keys from `notes/pricing.md` (e.g. `'[P1]'`), or the user's own note. Required on built-in rows; default `'user override'`. */
  readonly source?: string;
  /**
   * `true` when the whole row is an estimate, or the list of categories that are (‡ third-party or n/f in
   * the notes). A call is marked approximate only when it used an approximate category.
   */
  readonly approximate?: boolean | readonly RateKey[];
  /** The row (or its approximate part) comes from third-party sources only. */
  readonly thirdParty?: boolean;
  /** Free-form remark (retirement, disagreements). */
  readonly note?: string;
}

/** A server-tool price (charged per use, on top of tokens). */
export interface ServerToolPrices {
  /** USD per web search request (`server_tool_use.web_search_requests`). */
  readonly webSearchUsd: RateValue;
  /** USD per web fetch request (`server_tool_use.web_fetch_requests`). */
  readonly webFetchUsd: RateValue;
  /** Source keys. */
  readonly source: string;
}
