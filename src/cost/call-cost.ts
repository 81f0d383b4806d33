import { EXACT_FEMTO, femtoToUsd, formatFemto, type Femto } from './money';
import type { CompiledPriceRow, CompiledRates, PriceTable } from './price-table';
import type { RateKey } from './price-types';
import { cacheWriteSplit, tokenCount, type UsageLike } from './usage';

/** Cost per category, in USD (numbers derived from the exact amounts). */
export interface CallCostBreakdown {
  /** Uncached input tokens. */
  readonly input: number;
  /** Output tokens. */
  readonly output: number;
  /** Cache reads. */
  readonly cacheRead: number;
  /** 5-minute cache writes. */
  readonly cacheWrite5m: number;
  /** 1-hour cache writes. */
  readonly cacheWrite1h: number;
  /** Web search requests. */
  readonly webSearch: number;
  /** Web fetch requests ($0 at list price; present for overrides). */
  readonly webFetch: number;
}

/** The same breakdown as exact decimal USD strings. */
export type CallCostBreakdownExact = { readonly [K in keyof CallCostBreakdown]: string };

/**
 * Facts about how a cost was computed (for logs and tests):
 * - `batch`: `service_tier === 'batch'` (or `batch: true`) — 50% off every token category;
 * - `fast`: priced from the fast card (`usage.speed === 'fast'`);
 * - `fast-rate-estimated`: the model has no published fast card; 2× every standard category was used;
 * - `geo-us`: `inference_geo === 'us'` on a model with the 1.1× data-residency surcharge;
 * - `geo-us-not-applicable`: `inference_geo === 'us'` on an older model (no surcharge applied);
 * - `prompt-tier`: a prompt-length tier applied (Haiku 5.5 >100K; Opus/Sonnet 4.6 >200K before 2026-03-13);
 * - `priority-tier`: `service_tier === 'priority'`: priced at list rates (contract prices are unknown);
 * - `unbilled-refusal`: a refusal before any output on a model whose refusals are not billed: $0;
 * - `third-party-rates`: a rate used comes from third-party sources only;
 * - `compaction`: `usage.iterations` compaction entries were added;
 * - `fallback-credit-redeemed`: the API repriced the request on a fallback model; that credit cannot be
 *   derived from usage, so the cost is the usage-based price and marked approximate.
 */
export type CostFlag =
  | 'batch'
  | 'fast'
  | 'fast-rate-estimated'
  | 'geo-us'
  | 'geo-us-not-applicable'
  | 'prompt-tier'
  | 'priority-tier'
  | 'unbilled-refusal'
  | 'third-party-rates'
  | 'compaction'
  | 'fallback-credit-redeemed';

/** The price of one call. JSON-safe (no `bigint`): safe to log. */
export interface CallCost {
  /** Total in USD, the nearest double to {@link CallCost.exact}. */
  readonly usd: number;
  /** Exact total as a decimal USD string (femto-dollar precision), e.g. `"0.0045"`. */
  readonly exact: string;
  /** Per-category USD. */
  readonly breakdown: CallCostBreakdown;
  /** Per-category exact decimal strings. */
  readonly breakdownExact: CallCostBreakdownExact;
  /** Some rate used is an estimate (unknown model, ‡/n/f rate, estimated fast card, fallback credit). */
  readonly approximate: boolean;
  /** The model id had no exact row and was priced by fallback. */
  readonly unknownModel: boolean;
  /** The canonical id whose rates were used (for unknown ids: the fallback model). */
  readonly pricedModel: string;
  /** The id that was priced (as given). */
  readonly model: string;
  /** How the price was computed (see {@link CostFlag}). */
  readonly flags: readonly CostFlag[];
}

/** Input of {@link callCost}. */
export interface CallCostInput {
  /** The **response's** `model` (not the requested one). */
  readonly model: string;
  /** `message.usage` (`Usage` or `BetaUsage`), or a stream-accumulated usage (see `mergeStreamUsage`). */
  readonly usage: UsageLike;
  /** When the call was made (epoch ms): selects effective-dated rows. */
  readonly at: number;
  /** Force the batch discount (e.g. results from the Batches API whose usage lacks `service_tier`). Default: from usage. */
  readonly batch?: boolean;
  /**
   * The response's `stop_reason`. With `'refusal'` and zero output tokens, a model whose refusals are not
   * billed ([FB]: Fable) costs $0. Default: not a refusal.
   */
  readonly stopReason?: string | null;
}

type Category = RateKey | 'webSearch' | 'webFetch';
type Acc = Record<Category, Femto>;

const TOKEN_TO_BREAKDOWN: Readonly<Record<Category, keyof CallCostBreakdown>> = {
  input: 'input',
  output: 'output',
  cacheRead: 'cacheRead',
  cacheWrite5m: 'cacheWrite5m',
  cacheWrite1h: 'cacheWrite1h',
  webSearch: 'webSearch',
  webFetch: 'webFetch',
};

interface Modifiers {
  readonly fast: boolean;
  readonly geoUs: boolean;
  readonly batch: boolean;
}

interface Segment {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
}

interface Ctx {
  readonly acc: Acc;
  readonly flags: Set<CostFlag>;
  approximate: boolean;
  unknownModel: boolean;
  pricedModel: string | undefined;
}

function emptyAcc(): Acc {
  return { input: 0n, output: 0n, cacheRead: 0n, cacheWrite5m: 0n, cacheWrite1h: 0n, webSearch: 0n, webFetch: 0n };
}

/** `tokens × rate × num / den`, exact by construction (see `money.ts`); rounds up if it ever were not. */
function scaled(tokens: number, rate: Femto, num: bigint, den: bigint): Femto {
  if (tokens === 0) return 0n;
  const product = BigInt(tokens) * rate * num;
  const q = product / den;
  return q * den === product ? q : q + 1n;
}

/**
 * Prices one segment (the top-level usage, or one compaction iteration) at `model`'s row, following the
 * notes' order of operations: pick the prompt-length tier first, then
 * `rate = (fast ? fastCard : card)[category] × (geo us && model ≥ 4.6 ? 1.1 : 1) × (batch ? 0.5 : 1)`.
 */
function priceSegment(table: PriceTable, model: string, at: number, seg: Segment, mods: Modifiers, ctx: Ctx): CompiledPriceRow {
  const resolution = table.resolve(model, at);
  const row = resolution.row;
  if (resolution.unknownModel) {
    ctx.unknownModel = true;
    ctx.approximate = true;
  }
  ctx.pricedModel ??= resolution.pricedModel;

  const prompt = seg.input + seg.cacheRead + seg.cacheWrite5m + seg.cacheWrite1h;
  const tier = row.tiers.find((t) => prompt > t.abovePromptTokens);
  if (tier) ctx.flags.add('prompt-tier');
  let card: CompiledRates = tier ? tier.rates : row.rates;
  let fastMultiplier = 1n;
  if (mods.fast) {
    const fastCard = tier ? tier.fast : row.fast;
    ctx.flags.add('fast');
    if (fastCard) card = fastCard;
    else {
      fastMultiplier = 2n;
      ctx.flags.add('fast-rate-estimated');
      ctx.approximate = true;
    }
  }
  let num = fastMultiplier;
  let den = 1n;
  if (mods.geoUs) {
    if (row.dataResidency) {
      num *= 11n;
      den *= 10n;
      ctx.flags.add('geo-us');
    } else ctx.flags.add('geo-us-not-applicable');
  }
  if (mods.batch) den *= 2n;

  for (const key of ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'] as const) {
    const tokens = seg[key];
    if (tokens === 0) continue;
    ctx.acc[key] += scaled(tokens, card[key], num, den);
    if (row.approximate.has(key)) ctx.approximate = true;
    if (row.thirdParty && (row.approximate.size === 0 || row.approximate.has(key))) ctx.flags.add('third-party-rates');
  }
  return row;
}

function segmentOf(u: {
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly cache_creation?: UsageLike['cache_creation'];
}): Segment {
  const { w5m, w1h } = cacheWriteSplit(u);
  return {
    input: tokenCount(u.input_tokens),
    output: tokenCount(u.output_tokens),
    cacheRead: tokenCount(u.cache_read_input_tokens),
    cacheWrite5m: w5m,
    cacheWrite1h: w1h,
  };
}

const BREAKDOWN_ENTRIES = Object.entries(TOKEN_TO_BREAKDOWN) as [Category, keyof CallCostBreakdown][];

function finish(model: string, ctx: Ctx): CallCost {
  let total = 0n;
  const breakdown = {} as Record<keyof CallCostBreakdown, number>;
  for (const [cat, name] of BREAKDOWN_ENTRIES) {
    const v = ctx.acc[cat];
    total += v;
    breakdown[name] = (breakdown[name] ?? 0) + femtoToUsd(v);
  }
  const acc = ctx.acc;
  const cost = {
    usd: femtoToUsd(total),
    breakdown,
    approximate: ctx.approximate,
    unknownModel: ctx.unknownModel,
    pricedModel: ctx.pricedModel ?? model,
    model,
    flags: [...ctx.flags],
  } as unknown as CallCost & { [EXACT_FEMTO]: bigint };
  // The decimal strings are built only when read (the hot path sums the exact femto amount directly).
  let exact: string | undefined;
  let breakdownExact: CallCostBreakdownExact | undefined;
  Object.defineProperties(cost, {
    exact: { enumerable: true, get: () => (exact ??= formatFemto(total)) },
    breakdownExact: {
      enumerable: true,
      get: () => {
        if (!breakdownExact) {
          const out = {} as Record<keyof CallCostBreakdown, bigint>;
          for (const [cat, name] of BREAKDOWN_ENTRIES) out[name] = (out[name] ?? 0n) + acc[cat];
          breakdownExact = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, formatFemto(v)])) as unknown as CallCostBreakdownExact;
        }
        return breakdownExact;
      },
    },
    [EXACT_FEMTO]: { enumerable: false, value: total },
  });
  return cost;
}

/**
 * The cost of one call from the response's model and usage.
 *
 * - Token categories: `input_tokens` (uncached input), `output_tokens`, `cache_read_input_tokens`,
 *   `cache_creation.ephemeral_5m/1h_input_tokens` (when the split is `null`, `cache_creation_input_tokens`
 *   is priced as 5-minute writes).
 * - Modifiers: prompt-length tier (prompt = input + cache reads + cache writes) → `speed === 'fast'`
 *   (fast card) → `inference_geo === 'us'` (1.1× where the row has data residency) → batch (`service_tier
 *   === 'batch'` or `batch: true`: 0.5× on every token category).
 * - Server tools: `web_search_requests` × $0.01 (no batch or geo modifier), `web_fetch_requests` × $0.
 * - Beta `usage.iterations` entries of type `compaction` are not in the top-level numbers: each is added,
 *   priced at its own `model` when it carries one (the SDK type has none, so normally the response's
 *   model), with its own prompt-length tier and the request's speed/geo/batch modifiers. Other entry types
 *   (`message`, `fallback_message`, `advisor_message`) are left out: the notes place only compaction
 *   outside the top-level usage.
 * - A refusal before any output (`stopReason === 'refusal'`, zero output) costs $0 on rows marked
 *   `freeRefusals` (Fable, per [FB]); flagged `unbilled-refusal`.
 * - Never throws for odd usage: missing, negative or non-finite counts are 0.
 */
export function callCost(table: PriceTable, input: CallCostInput): CallCost {
  const { usage, model, at } = input;
  const ctx: Ctx = { acc: emptyAcc(), flags: new Set(), approximate: false, unknownModel: false, pricedModel: undefined };
  const mods: Modifiers = {
    fast: usage.speed === 'fast',
    geoUs: usage.inference_geo === 'us',
    batch: input.batch === true || usage.service_tier === 'batch',
  };
  if (mods.batch) ctx.flags.add('batch');
  if (usage.service_tier === 'priority') ctx.flags.add('priority-tier');

  const top = segmentOf(usage);
  const row = priceSegment(table, model, at, top, mods, ctx);

  if (input.stopReason === 'refusal' && top.output === 0 && row.freeRefusals) {
    return finish(model, {
      acc: emptyAcc(),
      flags: new Set(['unbilled-refusal']),
      approximate: ctx.approximate,
      unknownModel: ctx.unknownModel,
      pricedModel: ctx.pricedModel,
    });
  }

  for (const it of usage.iterations ?? []) {
    if (it.type !== 'compaction') continue;
    ctx.flags.add('compaction');
    const itModel = typeof it.model === 'string' && it.model !== '' ? it.model : model;
    priceSegment(table, itModel, at, segmentOf(it), mods, ctx);
  }

  const tools = usage.server_tool_use;
  if (tools) {
    ctx.acc.webSearch += BigInt(tokenCount(tools.web_search_requests)) * table.webSearchFemto;
    ctx.acc.webFetch += BigInt(tokenCount(tools.web_fetch_requests)) * table.webFetchFemto;
  }
  if (usage.fallback_credit?.status?.type === 'redeemed') {
    ctx.flags.add('fallback-credit-redeemed');
    ctx.approximate = true;
  }
  return finish(model, ctx);
}

/** Input of {@link worstCaseCost}. */
export interface WorstCaseInput {
  /** The **requested** model (`params.model`). */
  readonly model: string;
  /** Estimated prompt tokens (all priced as uncached input, or as cache writes with `cacheWriteTtl`). */
  readonly inputTokens: number;
  /** `max_tokens`: all priced at the output rate. */
  readonly maxTokens: number;
  /** When the call is made (epoch ms). */
  readonly at: number;
  /** `params.speed`. Default `'standard'`. */
  readonly speed?: 'standard' | 'fast' | null;
  /** `params.inference_geo`. Default global (no surcharge). */
  readonly inferenceGeo?: string | null;
  /** The call goes through the Batches API. Default false. */
  readonly batch?: boolean;
  /**
   * When the request carries `cache_control`, price the prompt at that cache-write rate instead of the
   * input rate (a write costs 1.25× or 2× input, more than the default assumption). Default: input rate.
   */
  readonly cacheWriteTtl?: '5m' | '1h';
  /** Web searches to reserve for (e.g. the tool's `max_uses`). Default 0. */
  readonly webSearches?: number;
}

/**
 * The most a call can cost, for budget reservations: the whole prompt at the uncached input rate (or at
 * a cache-write rate with `cacheWriteTtl`), `max_tokens` at the output rate, with the requested speed,
 * geo and batch modifiers and the prompt-length tier of `inputTokens`. Cache reads only lower the real
 * cost, so it is an upper bound when `inputTokens` is; unknown models use the fallback (approximate).
 */
export function worstCaseCost(table: PriceTable, input: WorstCaseInput): CallCost {
  const ctx: Ctx = { acc: emptyAcc(), flags: new Set(), approximate: false, unknownModel: false, pricedModel: undefined };
  const mods: Modifiers = { fast: input.speed === 'fast', geoUs: input.inferenceGeo === 'us', batch: input.batch === true };
  if (mods.batch) ctx.flags.add('batch');
  const prompt = tokenCount(input.inputTokens);
  const seg: Segment = {
    input: input.cacheWriteTtl ? 0 : prompt,
    output: tokenCount(input.maxTokens),
    cacheRead: 0,
    cacheWrite5m: input.cacheWriteTtl === '5m' ? prompt : 0,
    cacheWrite1h: input.cacheWriteTtl === '1h' ? prompt : 0,
  };
  priceSegment(table, input.model, input.at, seg, mods, ctx);
  ctx.acc.webSearch += BigInt(tokenCount(input.webSearches)) * table.webSearchFemto;
  return finish(input.model, ctx);
}
