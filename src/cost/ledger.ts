import { ConfigError } from '../errors/config-error';
import {
  Agg,
  OTHER_KEY,
  Party,
  getOr,
  toSummary,
  type CostSummary,
  type ModelTotals,
  type NormalizedLedgerEntry,
  type PartyTotals,
  type SummaryQuery,
} from './ledger-aggregate';
import { amountToFemto, type UsdAmount } from './money';
import { tokenCount } from './usage';
import { DAY_MS, HOUR_MS, MINUTE_MS, floorTo } from './window';

export type { CostSummary, ModelTotals, NormalizedLedgerEntry, PartyTotals, SummaryQuery, SummaryResolution } from './ledger-aggregate';
export { OTHER_KEY } from './ledger-aggregate';

/** One priced call, as recorded in the ledger. */
export interface LedgerEntry {
  /** When the call was made (epoch ms). Times in the future are clamped to the ledger's `now()`. */
  readonly at: number;
  /** The model that answered (the response's `model`). */
  readonly model: string;
  /** The user the call is attributed to (`metadata.user_id`). Calls without one appear in no `byUser` row. */
  readonly user?: string | null;
  /** Labels; each tag is credited with the whole call (so `byTag` sums can exceed the total). */
  readonly tags?: readonly string[];
  /** Uncached input tokens. Default 0. */
  readonly inputTokens?: number;
  /** Output tokens. Default 0. */
  readonly outputTokens?: number;
  /** Cache-read tokens. Default 0. */
  readonly cacheReadTokens?: number;
  /** Cache-write tokens (5m + 1h). Default 0. */
  readonly cacheWriteTokens?: number;
  /** The call's cost: a `CallCost` (exact, preferred), an exact decimal string or a number of USD. */
  readonly cost: UsdAmount;
  /**
   * What the same usage costs at standard prices, when the call paid less (a batched call): the ledger
   * sums the difference as `savedUsd`. Default: none (nothing saved).
   */
  readonly standardCost?: UsdAmount;
}

/** Distinct names kept per bucket before folding into {@link OTHER_KEY}. */
export interface BucketCaps {
  /** Distinct models. */
  readonly models: number;
  /** Distinct users. */
  readonly users: number;
  /** Distinct tags. */
  readonly tags: number;
}

/** Options of {@link CostLedger}. */
export interface CostLedgerOptions {
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
  /** Minute buckets kept (window precision 1 minute). Default 360 (6 hours). */
  readonly minuteBuckets?: number;
  /** Hour buckets kept (precision 1 hour). Default 744 (31 days). */
  readonly hourBuckets?: number;
  /** UTC-day buckets kept (precision 1 day); older windows fall back to the lifetime totals. Default 366. */
  readonly dayBuckets?: number;
  /** Caps per minute bucket. Default `{ models: 16, users: 20, tags: 10 }`. */
  readonly minuteCaps?: Partial<BucketCaps>;
  /** Caps per hour bucket. Default `{ models: 32, users: 50, tags: 20 }`. */
  readonly hourCaps?: Partial<BucketCaps>;
  /** Caps per day bucket. Default `{ models: 64, users: 200, tags: 50 }`. */
  readonly dayCaps?: Partial<BucketCaps>;
  /** Caps of the lifetime totals. Default `{ models: 256, users: 10_000, tags: 1_000 }`. */
  readonly lifetimeCaps?: Partial<BucketCaps>;
  /**
   * Also aggregate every record into a shared store (e.g. `RedisCostStore.ledger()`), read back with
   * {@link CostLedger.sharedSummary}. Default: none (this process only).
   */
  readonly shared?: SharedLedgerSink;
}

/** A shared ledger aggregate (implemented by `RedisCostStore.ledger()`). */
export interface SharedLedgerSink {
  /** Adds an entry; must not throw (errors are the sink's to report). */
  record(entry: NormalizedLedgerEntry): void;
  /** Summary of every process's records. */
  summary(query?: SummaryQuery): Promise<CostSummary>;
}

/** Size of the ledger's structures (for health and tests). */
export interface LedgerStats {
  /** Buckets held per level. */
  readonly buckets: { readonly minute: number; readonly hour: number; readonly day: number };
  /** Map entries (models + users + tags) over all buckets and the lifetime totals. */
  readonly entries: number;
  /** Worst-case `entries` allowed by the configured retention and caps. */
  readonly maxEntries: number;
}

class Bucket {
  readonly total = new Agg();
  readonly models = new Map<string, Agg>();
  readonly users = new Map<string, Party>();
  readonly tags = new Map<string, Party>();

  constructor(readonly caps: BucketCaps) {}

  add(e: NormalizedLedgerEntry): void {
    this.total.add(e);
    capped(this.models, e.model, this.caps.models, () => new Agg()).add(e);
    if (e.user !== undefined) capped(this.users, e.user, this.caps.users, () => new Party()).add(e.femto, e.savedFemto);
    for (const tag of e.tags) capped(this.tags, tag, this.caps.tags, () => new Party()).add(e.femto, e.savedFemto);
  }

  entries(): number {
    return this.models.size + this.users.size + this.tags.size;
  }
}

/** Gets `key`'s slot, creating it while under `cap` (the overflow slot does not count against it). */
function capped<V>(map: Map<string, V>, key: string, cap: number, make: () => V): V {
  let v = map.get(key);
  if (v !== undefined) return v;
  const named = map.has(OTHER_KEY) ? map.size - 1 : map.size;
  const slot = named < cap ? key : OTHER_KEY;
  v = map.get(slot);
  if (v === undefined) {
    v = make();
    map.set(slot, v);
  }
  return v;
}

interface Level {
  readonly name: 'minute' | 'hour' | 'day';
  readonly stepMs: number;
  readonly keep: number;
  readonly caps: BucketCaps;
  readonly buckets: Map<number, Bucket>;
}

function caps(given: Partial<BucketCaps> | undefined, dflt: BucketCaps, path: string): BucketCaps {
  const out = { ...dflt, ...given };
  for (const k of ['models', 'users', 'tags'] as const) {
    if (!Number.isSafeInteger(out[k]) || out[k] < 1) throw new ConfigError(`${path}.${k}`, 'a positive integer');
  }
  return out;
}

function positive(value: number | undefined, dflt: number, path: string): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(path, 'a positive integer');
  return v;
}

/**
 * The cost ledger: bounded-memory aggregates of every priced call, in this process.
 *
 * **Bucketing.** Each record is added to the lifetime totals and to one bucket at each of three levels:
 * a minute bucket (the last `minuteBuckets` minutes, default 6 h), an hour bucket (last `hourBuckets`
 * hours, default 31 days) and a UTC-day bucket (last `dayBuckets` days, default 366). Buckets past their
 * level's horizon are dropped; their calls remain in the coarser levels and the lifetime totals.
 *
 * **Window precision.** `summary({ sinceMs })` uses the finest level still holding the window's start,
 * rounds that start **down** to the bucket size and counts everything after it: start within 6 h →
 * exact to the minute; within 31 days → to the hour; within 366 days → to the UTC day. A start at or
 * before the first recorded call is exact (lifetime totals). A start older than the day horizon but
 * after the first call returns the lifetime totals (`windowStart` = first call). The result says which
 * (`resolution`, `windowStart`): it never counts less than asked.
 *
 * **Memory bound.** Each bucket keeps at most `caps.models/users/tags` distinct names; further names
 * share one `'(other)'` slot, first come first served (so a user can appear partly under its name and
 * partly in `'(other)'` across buckets; totals are never lost). Worst case = Σ(level buckets × caps) +
 * lifetime caps map entries, independent of traffic: 223,512 entries with the defaults (≈ 30 MB at the
 * measured ≈ 130 B per entry), reached only by hundreds of new users every minute for a year. Measured:
 * 100k calls from 5,000 users over 30 days hold 71k entries, +9.4 MB heap. See {@link CostLedger.stats}.
 * Money is summed in exact femto-dollars (`bigint`).
 */
export class CostLedger {
  readonly #now: () => number;
  readonly #levels: readonly Level[];
  readonly #lifetime: Bucket;
  readonly #shared: SharedLedgerSink | undefined;
  #firstAt = Number.POSITIVE_INFINITY;
  #lastPruneMinute = Number.NEGATIVE_INFINITY;

  constructor(options: CostLedgerOptions = {}) {
    this.#now = options.now ?? Date.now;
    const p = 'cost.ledger';
    this.#levels = [
      {
        name: 'minute',
        stepMs: MINUTE_MS,
        keep: positive(options.minuteBuckets, 360, `${p}.minuteBuckets`),
        caps: caps(options.minuteCaps, { models: 16, users: 20, tags: 10 }, `${p}.minuteCaps`),
        buckets: new Map(),
      },
      {
        name: 'hour',
        stepMs: HOUR_MS,
        keep: positive(options.hourBuckets, 744, `${p}.hourBuckets`),
        caps: caps(options.hourCaps, { models: 32, users: 50, tags: 20 }, `${p}.hourCaps`),
        buckets: new Map(),
      },
      {
        name: 'day',
        stepMs: DAY_MS,
        keep: positive(options.dayBuckets, 366, `${p}.dayBuckets`),
        caps: caps(options.dayCaps, { models: 64, users: 200, tags: 50 }, `${p}.dayCaps`),
        buckets: new Map(),
      },
    ];
    this.#lifetime = new Bucket(caps(options.lifetimeCaps, { models: 256, users: 10_000, tags: 1_000 }, `${p}.lifetimeCaps`));
    this.#shared = options.shared;
  }

  /**
   * Records one priced call. Synchronous and O(tags). Never throws for odd token counts (they count as 0);
   * throws `RangeError` for a negative or malformed cost.
   */
  record(entry: LedgerEntry): void {
    const now = this.#now();
    const at = Number.isFinite(entry.at) ? Math.min(entry.at, now) : now;
    const tags = entry.tags ? [...new Set(entry.tags.filter((t) => typeof t === 'string'))] : [];
    const femto = amountToFemto(entry.cost);
    const standard = entry.standardCost === undefined ? femto : amountToFemto(entry.standardCost);
    const e: NormalizedLedgerEntry = {
      at,
      model: entry.model,
      user: typeof entry.user === 'string' ? entry.user : undefined,
      tags,
      inputTokens: tokenCount(entry.inputTokens),
      outputTokens: tokenCount(entry.outputTokens),
      cacheReadTokens: tokenCount(entry.cacheReadTokens),
      cacheWriteTokens: tokenCount(entry.cacheWriteTokens),
      femto,
      savedFemto: standard > femto ? standard - femto : 0n,
    };
    this.#prune(now);
    this.#lifetime.add(e);
    if (at < this.#firstAt) this.#firstAt = at;
    for (const level of this.#levels) {
      const start = floorTo(at, level.stepMs);
      if (start < this.#oldest(level, now)) continue;
      let bucket = level.buckets.get(start);
      if (!bucket) {
        bucket = new Bucket(level.caps);
        level.buckets.set(start, bucket);
      }
      bucket.add(e);
    }
    this.#shared?.record(e);
  }

  /**
   * Totals for the whole life (no argument), since an epoch-ms instant (`{ sinceMs }`) or for the last
   * `days × 24 h` (`{ days }`), at the precision described on the class.
   */
  summary(query?: SummaryQuery): CostSummary {
    const now = this.#now();
    this.#prune(now);
    const since = sinceOf(query, now);
    const lt = this.#lifetime;
    if (since === undefined || since <= this.#firstAt) {
      return toSummary(lt.total, lt.models, lt.users, lt.tags, 'lifetime', since === undefined ? null : since);
    }
    for (const level of this.#levels) {
      const start = floorTo(since, level.stepMs);
      if (start < this.#oldest(level, now)) continue;
      const total = new Agg();
      const models = new Map<string, Agg>();
      const users = new Map<string, Party>();
      const tags = new Map<string, Party>();
      for (const [bStart, b] of level.buckets) {
        if (bStart < start) continue;
        total.merge(b.total);
        for (const [k, a] of b.models) getOr(models, k, () => new Agg()).merge(a);
        for (const [k, p] of b.users) getOr(users, k, () => new Party()).merge(p);
        for (const [k, p] of b.tags) getOr(tags, k, () => new Party()).merge(p);
      }
      return toSummary(total, models, users, tags, level.name, start);
    }
    return toSummary(lt.total, lt.models, lt.users, lt.tags, 'lifetime', this.#firstAt);
  }

  /** `summary(query).byModel`. */
  byModel(query?: SummaryQuery): Record<string, ModelTotals> {
    return this.summary(query).byModel;
  }

  /** `summary(query).byUser`. */
  byUser(query?: SummaryQuery): Record<string, PartyTotals> {
    return this.summary(query).byUser;
  }

  /** `summary(query).totalUsd`. */
  total(query?: SummaryQuery): number {
    return this.summary(query).totalUsd;
  }

  /**
   * The shared summary across every process writing to the same store (see `RedisCostStore.ledger()`).
   * Rejects when no `shared` sink was configured.
   */
  sharedSummary(query?: SummaryQuery): Promise<CostSummary> {
    if (!this.#shared) return Promise.reject(new ConfigError('cost.ledger.shared', 'a shared ledger store (redis)'));
    return this.#shared.summary(query);
  }

  /** Structure sizes: buckets per level, map entries held, and the configured worst case. */
  stats(): LedgerStats {
    let entries = this.#lifetime.entries();
    let maxEntries = capSum(this.#lifetime.caps);
    const count: Record<'minute' | 'hour' | 'day', number> = { minute: 0, hour: 0, day: 0 };
    for (const level of this.#levels) {
      count[level.name] = level.buckets.size;
      for (const b of level.buckets.values()) entries += b.entries();
      maxEntries += (level.keep + 1) * capSum(level.caps);
    }
    return { buckets: count, entries, maxEntries };
  }

  #oldest(level: Level, now: number): number {
    return floorTo(now, level.stepMs) - (level.keep - 1) * level.stepMs;
  }

  #prune(now: number): void {
    const minute = floorTo(now, MINUTE_MS);
    if (minute === this.#lastPruneMinute) return;
    this.#lastPruneMinute = minute;
    for (const level of this.#levels) {
      const oldest = this.#oldest(level, now);
      for (const start of level.buckets.keys()) if (start < oldest) level.buckets.delete(start);
    }
  }
}

function capSum(c: BucketCaps): number {
  // +1 per map for the '(other)' slot.
  return c.models + c.users + c.tags + 3;
}

/** The epoch-ms start of a query, or `undefined` for the whole life. Validates the query. */
export function sinceOf(query: SummaryQuery | undefined, now: number): number | undefined {
  if (query === undefined) return undefined;
  if ('sinceMs' in query) {
    if (!Number.isFinite(query.sinceMs)) throw new RangeError('summary: sinceMs must be a finite epoch-ms number');
    return query.sinceMs;
  }
  if ('days' in query) {
    if (!Number.isFinite(query.days) || query.days < 0) throw new RangeError('summary: days must be a non-negative number');
    return now - query.days * DAY_MS;
  }
  return undefined;
}
