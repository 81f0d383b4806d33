/** Summary types and the aggregate arithmetic shared by the in-memory and Redis ledgers. */
import { femtoToUsd, formatFemto, type Femto } from './money';

/** Totals per model. */
export interface ModelTotals {
  /** USD (nearest double of `exact`). */
  readonly usd: number;
  /** Exact decimal USD. */
  readonly exact: string;
  /** What batched calls saved against standard prices, USD (0 without batched calls). */
  readonly savedUsd: number;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

/** Totals per user or tag. */
export interface PartyTotals {
  /** USD (nearest double of `exact`). */
  readonly usd: number;
  /** Exact decimal USD. */
  readonly exact: string;
  /** What batched calls saved against standard prices, USD (0 without batched calls). */
  readonly savedUsd: number;
  readonly requests: number;
}

/** Which bucket size answered a summary. */
export type SummaryResolution = 'minute' | 'hour' | 'day' | 'month' | 'lifetime';

/** The ledger's totals for a window (or the whole life). */
export interface CostSummary {
  /** Total USD (nearest double of `exactUsd`). */
  readonly totalUsd: number;
  /** Exact total, decimal USD. */
  readonly exactUsd: string;
  /**
   * What batched calls (`callOptions({ batch: true })`, or any response with `service_tier: 'batch'`)
   * saved against the standard prices of the same usage, USD. Their cost is in `totalUsd` at the batch
   * price.
   */
  readonly savedUsd: number;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  /** Per model; models beyond the per-bucket cap are folded into `'(other)'`. */
  readonly byModel: Record<string, ModelTotals>;
  /** Per user; users beyond the per-bucket cap are folded into `'(other)'`. */
  readonly byUser: Record<string, PartyTotals>;
  /** Per tag; tags beyond the per-bucket cap are folded into `'(other)'`. */
  readonly byTag: Record<string, PartyTotals>;
  /** Bucket size used. */
  readonly resolution: SummaryResolution;
  /**
   * Start of the data actually counted (the requested start rounded down to the bucket size), `null`
   * for the whole life. The window always covers at least the requested one.
   */
  readonly windowStart: number | null;
}

/** A window: `{ sinceMs }` = calls at or after that epoch-ms instant; `{ days }` = the last `days × 24h`. */
export type SummaryQuery = { readonly sinceMs: number } | { readonly days: number };

/** The name under which entries beyond a cap are aggregated. */
export const OTHER_KEY = '(other)';

/** A normalized entry handed to a shared sink. */
export interface NormalizedLedgerEntry {
  readonly at: number;
  readonly model: string;
  readonly user: string | undefined;
  readonly tags: readonly string[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  /** Exact cost, femto-dollars. */
  readonly femto: Femto;
  /** What it saved against standard prices (a batched call), femto-dollars; 0 otherwise. */
  readonly savedFemto: Femto;
}

/** Mutable totals of a set of calls (exact femto-dollars and token counts). */
export class Agg {
  femto = 0n;
  saved = 0n;
  requests = 0;
  input = 0;
  output = 0;
  cacheRead = 0;
  cacheWrite = 0;

  /** Adds one call. */
  add(e: NormalizedLedgerEntry): void {
    this.femto += e.femto;
    this.saved += e.savedFemto;
    this.requests += 1;
    this.input += e.inputTokens;
    this.output += e.outputTokens;
    this.cacheRead += e.cacheReadTokens;
    this.cacheWrite += e.cacheWriteTokens;
  }

  /** Adds another aggregate. */
  merge(o: Agg): void {
    this.femto += o.femto;
    this.saved += o.saved;
    this.requests += o.requests;
    this.input += o.input;
    this.output += o.output;
    this.cacheRead += o.cacheRead;
    this.cacheWrite += o.cacheWrite;
  }
}

/** Mutable totals of a user or tag. */
export class Party {
  femto = 0n;
  saved = 0n;
  requests = 0;

  /** Adds one call's cost (and what it saved). */
  add(femto: Femto, saved: Femto = 0n): void {
    this.femto += femto;
    this.saved += saved;
    this.requests += 1;
  }

  /** Adds another tally. */
  merge(o: Party): void {
    this.femto += o.femto;
    this.saved += o.saved;
    this.requests += o.requests;
  }
}

/** Gets `key`'s value in `map`, creating it with `make` when missing. */
export function getOr<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Builds a {@link CostSummary} from aggregates. */
export function toSummary(
  total: Agg,
  models: Map<string, Agg>,
  users: Map<string, Party>,
  tags: Map<string, Party>,
  resolution: SummaryResolution,
  windowStart: number | null,
): CostSummary {
  const byModel: Record<string, ModelTotals> = Object.create(null) as Record<string, ModelTotals>;
  for (const [k, a] of models) {
    byModel[k] = {
      usd: femtoToUsd(a.femto),
      exact: formatFemto(a.femto),
      savedUsd: femtoToUsd(a.saved),
      requests: a.requests,
      inputTokens: a.input,
      outputTokens: a.output,
      cacheReadTokens: a.cacheRead,
      cacheWriteTokens: a.cacheWrite,
    };
  }
  const party = (m: Map<string, Party>): Record<string, PartyTotals> => {
    const out: Record<string, PartyTotals> = Object.create(null) as Record<string, PartyTotals>;
    for (const [k, p] of m) out[k] = { usd: femtoToUsd(p.femto), exact: formatFemto(p.femto), savedUsd: femtoToUsd(p.saved), requests: p.requests };
    return out;
  };
  return {
    totalUsd: femtoToUsd(total.femto),
    exactUsd: formatFemto(total.femto),
    savedUsd: femtoToUsd(total.saved),
    requests: total.requests,
    inputTokens: total.input,
    outputTokens: total.output,
    cacheReadTokens: total.cacheRead,
    cacheWriteTokens: total.cacheWrite,
    byModel,
    byUser: party(users),
    byTag: party(tags),
    resolution,
    windowStart,
  };
}

