import { ConfigError } from '../errors/config-error';
import { FEMTO_PER_TOKEN_PER_USD_PER_MTOK, MAX_RATE_DECIMALS, parseDecimal, usdToFemto, type Femto } from './money';
import { BUILTIN_PRICE_ROWS, BUILTIN_SERVER_TOOL_PRICES } from './price-data';
import {
  MODEL_LINES,
  RATE_KEYS,
  type ModelLine,
  type PriceRates,
  type PriceRowInput,
  type PriceTier,
  type RateKey,
  type ServerToolPrices,
} from './price-types';

/** Five token rates in femto-dollars per token (1 $/MTok = 1e9 fUSD/token). */
export type CompiledRates = Readonly<Record<RateKey, Femto>>;

/** A compiled prompt-length tier. */
export interface CompiledTier {
  /** Applies when the prompt is strictly greater than this many tokens. */
  readonly abovePromptTokens: number;
  /** Standard-speed rates. */
  readonly rates: CompiledRates;
  /** Fast-mode rates, when known. */
  readonly fast: CompiledRates | undefined;
}

/** A validated price row with rates in femto-dollars per token. */
export interface CompiledPriceRow {
  /** Canonical model id. */
  readonly model: string;
  /** Ids that resolve to this model. */
  readonly aliases: readonly string[];
  /** Model family. */
  readonly line: ModelLine;
  /** Version within the line (for "newest of the line"). */
  readonly version: number;
  /** Epoch ms from which this row applies (`-Infinity` for "always"). */
  readonly effectiveFrom: number;
  /** Standard-speed rates. */
  readonly rates: CompiledRates;
  /** Fast-mode rates, when published. */
  readonly fast: CompiledRates | undefined;
  /** Prompt-length tiers, highest threshold first. */
  readonly tiers: readonly CompiledTier[];
  /** `inference_geo: "us"` costs 1.1×. */
  readonly dataResidency: boolean;
  /** A refusal before any output is not billed. */
  readonly freeRefusals: boolean;
  /** Categories whose rate is an estimate (‡, n/f or derived). */
  readonly approximate: ReadonlySet<RateKey>;
  /** Some rates come from third-party sources only. */
  readonly thirdParty: boolean;
  /** Source keys. */
  readonly source: string;
  /** Free-form remark. */
  readonly note: string | undefined;
  /** `true` for rows supplied through `cost.prices`. */
  readonly userSupplied: boolean;
}

/** Why a model id was priced from another model's row. */
export type FallbackReason = 'same-line' | 'unknown-line';

/** The row chosen for a model at an instant. */
export interface PriceResolution {
  /** The id asked for (as given). */
  readonly requestedModel: string;
  /** The canonical id whose prices were used. */
  readonly pricedModel: string;
  /** The row to price with (a synthetic derived row for unknown ids). */
  readonly row: CompiledPriceRow;
  /** No exact row exists for the id (after dated-id normalization). */
  readonly unknownModel: boolean;
  /** How an unknown id was priced. */
  readonly fallback: FallbackReason | undefined;
}

/** Facts reported once per unknown model id. */
export interface UnknownModelInfo {
  /** The id as received (normally the response's `model`). */
  readonly model: string;
  /** The model whose input/output rates were used. */
  readonly pricedModel: string;
  /** The line read from the id, if any. */
  readonly line: ModelLine | undefined;
  /** `'same-line'`: newest priced model of the line; `'unknown-line'`: the conservative fallback. */
  readonly fallback: FallbackReason;
}

/** Options of {@link PriceTable}. */
export interface PriceTableOptions {
  /**
   * Extra or replacement rows (the `cost.prices` option). Rows for a model id replace **all** built-in
   * rows of that id (give several effective-dated rows to keep a history). Validated: a bad row throws
   * `ConfigError` naming `cost.prices[i]…`. Default: none.
   */
  readonly prices?: readonly PriceRowInput[];
  /** Server-tool price overrides. Default: web search $0.01/request, web fetch $0 ([P1]). */
  readonly serverTools?: Partial<ServerToolPrices>;
  /**
   * Called **once per distinct unknown id** (per table) when that id is first priced by fallback. The
   * client's cost layer wires this to one warn log + one event; the dedup lives here, so the layer need
   * not keep its own set. Exceptions from the callback are swallowed. Default: none.
   */
  readonly onUnknownModel?: (info: UnknownModelInfo) => void;
  /**
   * Cap on remembered unknown ids (memory bound). Ids first seen after the cap is reached are priced the
   * same way but not reported. Default 1000.
   */
  readonly maxReportedUnknownModels?: number;
}

const DATE_SUFFIX_RE = /[-@]\d{8}$/;
const ISO_DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LINE_RE = /(?:^|[^a-z])(haiku|sonnet|opus|fable|mythos)(?:[^a-z]|$)/;

/** Reads the model line from an id's text (`'claude-opus-9'` → `'opus'`), or `undefined`. */
export function lineFromModelId(model: string): ModelLine | undefined {
  const m = LINE_RE.exec(model.toLowerCase());
  return m ? (m[1] as ModelLine) : undefined;
}

/**
 * Parses a version from a Claude id: `claude-opus-4-6` → 4.6, `claude-sonnet-5` → 5,
 * `claude-3-5-haiku-20241022` → 3.5; `0` when none is found. A date suffix is never read as a version.
 */
export function versionFromModelId(model: string): number {
  const id = model.toLowerCase().replace(DATE_SUFFIX_RE, '');
  const after = /(?:haiku|sonnet|opus|fable|mythos)-(\d{1,2})(?:-(\d{1,2}))?(?![\d])/.exec(id);
  if (after) return Number(`${after[1]}.${after[2] ?? '0'}`);
  const before = /claude-(\d{1,2})(?:-(\d{1,2}))?-(?:haiku|sonnet|opus|fable|mythos)/.exec(id);
  if (before) return Number(`${before[1]}.${before[2] ?? '0'}`);
  return 0;
}

function normalizeId(model: string): string {
  return model.trim().toLowerCase();
}

/** Parses `'YYYY-MM-DD'` (00:00 UTC) or epoch ms. */
function parseEffective(value: string | number | undefined, path: string): number {
  if (value === undefined) return Number.NEGATIVE_INFINITY;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(path, "an epoch-ms number or a 'YYYY-MM-DD' date");
    return value;
  }
  const m = ISO_DAY_RE.exec(value);
  if (m) {
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    const back = new Date(ms).toISOString().slice(0, 10);
    if (back === value) return ms;
  }
  throw new ConfigError(path, "an epoch-ms number or a 'YYYY-MM-DD' date", `got ${JSON.stringify(value)}`);
}

function compileRate(value: unknown, path: string): Femto {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ConfigError(path, `a non-negative decimal ($/MTok) with at most ${MAX_RATE_DECIMALS} decimals`);
  }
  try {
    return parseDecimal(value, MAX_RATE_DECIMALS) * (FEMTO_PER_TOKEN_PER_USD_PER_MTOK / 10n ** BigInt(MAX_RATE_DECIMALS));
  } catch {
    throw new ConfigError(
      path,
      `a non-negative decimal ($/MTok) with at most ${MAX_RATE_DECIMALS} decimals`,
      `got ${JSON.stringify(value)}`,
    );
  }
}

function compileRates(value: PriceRates | undefined, path: string): CompiledRates {
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError(path, 'an object with input, output, cacheWrite5m, cacheWrite1h and cacheRead rates');
  }
  const out = {} as Record<RateKey, Femto>;
  for (const key of RATE_KEYS) out[key] = compileRate((value as unknown as Record<string, unknown>)[key], `${path}.${key}`);
  return Object.freeze(out);
}

function compileTier(tier: PriceTier, path: string): CompiledTier {
  if (typeof tier !== 'object' || tier === null) throw new ConfigError(path, 'a tier object');
  const above = tier.abovePromptTokens;
  if (typeof above !== 'number' || !Number.isSafeInteger(above) || above < 0) {
    throw new ConfigError(`${path}.abovePromptTokens`, 'a non-negative integer token count');
  }
  return {
    abovePromptTokens: above,
    rates: compileRates(tier.rates, `${path}.rates`),
    fast: tier.fast === undefined ? undefined : compileRates(tier.fast, `${path}.fast`),
  };
}

/**
 * Validates and compiles one row. `path` names the row in errors (e.g. `'cost.prices[2]'`).
 * Throws `ConfigError` naming the offending field.
 */
export function compilePriceRow(input: PriceRowInput, path: string, userSupplied: boolean): CompiledPriceRow {
  if (typeof input !== 'object' || input === null) throw new ConfigError(path, 'a price row object');
  if (typeof input.model !== 'string' || input.model.trim() === '') {
    throw new ConfigError(`${path}.model`, 'a non-empty model id');
  }
  if (!MODEL_LINES.includes(input.line)) {
    throw new ConfigError(`${path}.line`, `one of ${MODEL_LINES.join(', ')}`, `got ${JSON.stringify(input.line)}`);
  }
  const aliases = input.aliases ?? [];
  if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string' || a.trim() === '')) {
    throw new ConfigError(`${path}.aliases`, 'an array of non-empty model ids');
  }
  if (input.version !== undefined && (typeof input.version !== 'number' || !Number.isFinite(input.version))) {
    throw new ConfigError(`${path}.version`, 'a finite number');
  }
  const source = input.source ?? (userSupplied ? 'user override' : undefined);
  if (typeof source !== 'string' || source.trim() === '') {
    throw new ConfigError(`${path}.source`, 'a non-empty source note');
  }
  let approximate: Set<RateKey>;
  if (input.approximate === undefined || input.approximate === false) approximate = new Set();
  else if (input.approximate === true) approximate = new Set(RATE_KEYS);
  else if (Array.isArray(input.approximate) && input.approximate.every((k) => RATE_KEYS.includes(k))) {
    approximate = new Set(input.approximate);
  } else {
    throw new ConfigError(`${path}.approximate`, `a boolean or an array of ${RATE_KEYS.join(', ')}`);
  }
  const tiersIn = input.tiers ?? [];
  if (!Array.isArray(tiersIn)) throw new ConfigError(`${path}.tiers`, 'an array of tiers');
  const tiers = tiersIn
    .map((t, i) => compileTier(t, `${path}.tiers[${i}]`))
    .sort((a, b) => b.abovePromptTokens - a.abovePromptTokens);
  for (const flag of ['dataResidency', 'freeRefusals', 'thirdParty'] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== 'boolean') {
      throw new ConfigError(`${path}.${flag}`, 'a boolean');
    }
  }
  return Object.freeze({
    model: normalizeId(input.model),
    aliases: Object.freeze(aliases.map(normalizeId)),
    line: input.line,
    version: input.version ?? versionFromModelId(input.model),
    effectiveFrom: parseEffective(input.effectiveFrom, `${path}.effectiveFrom`),
    rates: compileRates(input.rates, `${path}.rates`),
    fast: input.fast === undefined ? undefined : compileRates(input.fast, `${path}.fast`),
    tiers: Object.freeze(tiers),
    dataResidency: input.dataResidency ?? false,
    freeRefusals: input.freeRefusals ?? false,
    approximate,
    thirdParty: input.thirdParty ?? false,
    source,
    note: input.note,
    userSupplied,
  });
}

/** Rates derived from an input rate with the standard multipliers 1.25× / 2× / 0.1× ([P1]). */
function deriveStandardCache(input: Femto, output: Femto): CompiledRates {
  return Object.freeze({
    input,
    output,
    cacheWrite5m: (input * 5n) / 4n,
    cacheWrite1h: input * 2n,
    cacheRead: input / 10n,
  });
}

/** Builds the synthetic row used for an unknown id: the base row's input/output, standard cache rates. */
function deriveFallbackRow(base: CompiledPriceRow, requested: string): CompiledPriceRow {
  return Object.freeze({
    ...base,
    model: base.model,
    aliases: Object.freeze([]),
    rates: deriveStandardCache(base.rates.input, base.rates.output),
    // The base's fast card is not carried over: an unknown model's fast price is estimated (2×).
    fast: undefined,
    tiers: Object.freeze(
      base.tiers.map((t) => ({
        abovePromptTokens: t.abovePromptTokens,
        rates: deriveStandardCache(t.rates.input, t.rates.output),
        fast: undefined,
      })),
    ),
    approximate: new Set(RATE_KEYS),
    // Third-party only if the rates actually carried over (input/output) were.
    thirdParty: base.thirdParty && (base.approximate.size === 0 || base.approximate.has('input') || base.approximate.has('output')),
    freeRefusals: false,
    note: `Fallback for unknown id ${JSON.stringify(requested)}: ${base.model} input/output, standard cache multipliers.`,
  });
}

/**
 * The price table: built-in effective-dated rows plus the user's overrides, with the lookup and
 * fallback rules of `notes/pricing.md` §5:
 *
 * 1. ids are matched case-insensitively; a dated id (`-YYYYMMDD` or `@YYYYMMDD`) is normalized to its
 *    alias (explicit aliases first, then by stripping the date);
 * 2. an **exact** row is required: an id never inherits a sibling's row by prefix
 *    (`claude-fable-5-1` is not `claude-fable-5`);
 * 3. an unknown id whose text names a line (`haiku|sonnet|opus|fable|mythos`) is priced from the newest
 *    priced model of that line (highest `version`), its row effective at the call time: its input and
 *    output rates, cache rates derived with the standard 1.25× / 2× / 0.1× multipliers, any prompt-length
 *    tiers kept (also with derived cache rates). The cost is `approximate` and `unknownModel`;
 * 4. an id whose line cannot be told is priced conservatively: of the newest model of each line, the one
 *    with the highest output rate (then input rate) — today Fable 5.2 at $8/$40 — again with derived
 *    cache rates. Never zero.
 *
 * Among a model's rows, the one with the latest `effectiveFrom` at or before the call time applies; a
 * time before the first row uses the first row.
 */
let builtinRows: readonly CompiledPriceRow[] | undefined;

/** The built-in rows, compiled once per process (every client's table starts from them). */
function compiledBuiltinRows(): readonly CompiledPriceRow[] {
  builtinRows ??= BUILTIN_PRICE_ROWS.map((row, i) => compilePriceRow(row, `builtin[${i}]`, false));
  return builtinRows;
}

export class PriceTable {
  /** Web search price per request, femto-dollars. */
  readonly webSearchFemto: Femto;
  /** Web fetch price per request, femto-dollars. */
  readonly webFetchFemto: Femto;
  /** Source note of the server-tool prices. */
  readonly serverToolSource: string;

  readonly #rows = new Map<string, CompiledPriceRow[]>();
  readonly #ids = new Map<string, string>();
  readonly #fallbackCache = new Map<string, CompiledPriceRow>();
  readonly #reported = new Set<string>();
  readonly #maxReported: number;
  readonly #onUnknownModel: ((info: UnknownModelInfo) => void) | undefined;

  constructor(options: PriceTableOptions = {}) {
    const user = options.prices ?? [];
    if (!Array.isArray(user)) throw new ConfigError('cost.prices', 'an array of price rows');
    const userRows = user.map((row, i) => compilePriceRow(row, `cost.prices[${i}]`, true));
    const builtin = compiledBuiltinRows();
    const replaced = new Set(userRows.map((r) => r.model));

    for (const row of [...builtin.filter((r) => !replaced.has(r.model)), ...userRows]) {
      const list = this.#rows.get(row.model) ?? [];
      list.push(row);
      this.#rows.set(row.model, list);
    }
    for (const [model, list] of this.#rows) {
      list.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
      for (let i = 1; i < list.length; i++) {
        if (list[i]!.effectiveFrom === list[i - 1]!.effectiveFrom) {
          throw new ConfigError('cost.prices', 'at most one row per model and effectiveFrom', `duplicate for ${model}`);
        }
      }
      this.#ids.set(model, model);
    }
    // Aliases: built-in first, user rows override built-in aliases; an alias may never shadow a model id.
    const builtinAliases = builtin.filter((r) => !replaced.has(r.model));
    for (const [rows, isUser] of [
      [builtinAliases, false],
      [userRows, true],
    ] as const) {
      for (const row of rows) {
        for (const alias of row.aliases) {
          if (this.#rows.has(alias) && alias !== row.model) {
            throw new ConfigError(
              'cost.prices',
              'aliases that are not themselves model ids',
              `${alias} is a model id and cannot alias ${row.model}`,
            );
          }
          const existing = this.#ids.get(alias);
          if (existing !== undefined && existing !== row.model && !isUser) {
            throw new ConfigError('cost.prices', 'unique aliases', `${alias} → ${existing} and ${row.model}`);
          }
          this.#ids.set(alias, row.model);
        }
      }
    }
    // Replaced models keep their built-in aliases unless a user row took them.
    for (const row of builtin) {
      if (!replaced.has(row.model)) continue;
      for (const alias of row.aliases) if (!this.#ids.has(alias)) this.#ids.set(alias, row.model);
    }

    const tools = { ...BUILTIN_SERVER_TOOL_PRICES, ...options.serverTools };
    try {
      this.webSearchFemto = usdToFemto(tools.webSearchUsd);
    } catch {
      throw new ConfigError('cost.serverTools.webSearchUsd', 'a non-negative USD amount');
    }
    try {
      this.webFetchFemto = usdToFemto(tools.webFetchUsd);
    } catch {
      throw new ConfigError('cost.serverTools.webFetchUsd', 'a non-negative USD amount');
    }
    this.serverToolSource = tools.source;
    this.#onUnknownModel = options.onUnknownModel;
    const cap = options.maxReportedUnknownModels ?? 1000;
    if (!Number.isSafeInteger(cap) || cap < 0) {
      throw new ConfigError('cost.maxReportedUnknownModels', 'a non-negative integer');
    }
    this.#maxReported = cap;
  }

  /** Canonical ids of every priced model. */
  models(): string[] {
    return [...this.#rows.keys()];
  }

  /** The canonical id an id resolves to by exact match or dated-id normalization, else `undefined`. */
  canonicalId(model: string): string | undefined {
    const id = normalizeId(model);
    const direct = this.#ids.get(id);
    if (direct !== undefined) return direct;
    if (DATE_SUFFIX_RE.test(id)) return this.#ids.get(id.replace(DATE_SUFFIX_RE, ''));
    return undefined;
  }

  /** Every row of a model (by any of its ids), oldest first; empty when unknown. */
  rowsFor(model: string): readonly CompiledPriceRow[] {
    const id = this.canonicalId(model);
    return id === undefined ? [] : (this.#rows.get(id) ?? []);
  }

  /** The row of a known model in effect at `at` (epoch ms), or `undefined` for an unknown id. */
  rowAt(model: string, at: number): CompiledPriceRow | undefined {
    const rows = this.rowsFor(model);
    return rows.length === 0 ? undefined : pickEffective(rows, at);
  }

  /**
   * Resolves the row to price `model` with at `at` (epoch ms), applying the fallback rules above. Reports
   * an unknown id through `onUnknownModel` the first time it is seen.
   */
  resolve(model: string, at: number): PriceResolution {
    const known = this.rowAt(model, at);
    if (known) return { requestedModel: model, pricedModel: known.model, row: known, unknownModel: false, fallback: undefined };

    const line = lineFromModelId(model);
    const base = line ? this.#newestOfLine(line, at) : undefined;
    const fallback: FallbackReason = base ? 'same-line' : 'unknown-line';
    const baseRow = base ?? this.#conservative(at);
    const cacheKey = `${normalizeId(model)}\u0000${baseRow.model}\u0000${baseRow.effectiveFrom}`;
    let row = this.#fallbackCache.get(cacheKey);
    if (!row) {
      row = deriveFallbackRow(baseRow, model);
      if (this.#fallbackCache.size >= 256) this.#fallbackCache.clear();
      this.#fallbackCache.set(cacheKey, row);
    }
    this.#report({ model, pricedModel: baseRow.model, line, fallback });
    return { requestedModel: model, pricedModel: baseRow.model, row, unknownModel: true, fallback };
  }

  /** Unknown ids reported so far (at most `maxReportedUnknownModels`). */
  unknownModelsSeen(): readonly string[] {
    return [...this.#reported];
  }

  #report(info: UnknownModelInfo): void {
    const id = normalizeId(info.model);
    if (this.#reported.has(id) || this.#reported.size >= this.#maxReported) return;
    this.#reported.add(id);
    if (!this.#onUnknownModel) return;
    try {
      this.#onUnknownModel(info);
    } catch {
      // A reporting failure must never fail pricing.
    }
  }

  #newestOfLine(line: ModelLine, at: number): CompiledPriceRow | undefined {
    let best: CompiledPriceRow | undefined;
    for (const rows of this.#rows.values()) {
      const row = pickEffective(rows, at);
      if (row.line !== line) continue;
      if (!best || row.version > best.version || (row.version === best.version && row.model < best.model)) best = row;
    }
    return best;
  }

  #conservative(at: number): CompiledPriceRow {
    let best: CompiledPriceRow | undefined;
    for (const line of MODEL_LINES) {
      const row = this.#newestOfLine(line, at);
      if (!row) continue;
      if (
        !best ||
        row.rates.output > best.rates.output ||
        (row.rates.output === best.rates.output && row.rates.input > best.rates.input)
      ) {
        best = row;
      }
    }
    if (!best) throw new Error('price table has no rows'); // unreachable: built-in rows always exist
    return best;
  }
}

function pickEffective(rows: readonly CompiledPriceRow[], at: number): CompiledPriceRow {
  let chosen = rows[0]!;
  for (const row of rows) if (row.effectiveFrom <= at) chosen = row;
  return chosen;
}

let defaultTable: PriceTable | undefined;

/** A shared table of the built-in rows only (no overrides, no unknown-model callback). */
export function defaultPriceTable(): PriceTable {
  defaultTable ??= new PriceTable();
  return defaultTable;
}
