/**
 * Reading Anthropic's `anthropic-ratelimit-*` response headers and turning them into bucket
 * settings.
 *
 * Per bucket the server sends `-limit` (capacity), `-remaining` (current level; token dimensions may
 * be rounded down, e.g. to thousands) and `-reset` (RFC 3339: when the bucket will be FULL again).
 * From these we learn:
 *
 * - **capacity** = `limit` (capped by a configured ceiling);
 * - **refill rate** = `(limit − remaining) / (reset − serverNow)`, rather than assuming a minute.
 *   Both timestamps and `remaining` are coarse, so every sample is treated as an interval (see
 *   {@link deriveWindowMs}); a sample that is too imprecise, or a full bucket, keeps the previous
 *   rate (initially `limit` per 60 s). The rate is stored as a *window* (time to refill from empty),
 *   so a limit changed on the server scales the rate with it;
 * - **level**: never above what the server says remains, minus what we reserved that the server
 *   cannot have seen yet (the rule lives in `rate-limiter.ts`, `observe`).
 *
 * Clock skew: when a `date` header is present, `serverNow` is taken from it (its 1 s truncation is
 * part of the uncertainty) so `reset − serverNow` is measured on the server's own clock; without it
 * the local clock is trusted. Call `observe` when the headers arrive, not after a long stream ends:
 * without a `date` header a late observation makes `reset − now` look shorter than it was.
 *
 * @module
 */
import { type ParsedBucketHeaders, type ParsedLimits } from './types';

const PREFIX = 'anthropic-ratelimit-';

/** Samples whose rate interval is wider than this ratio (high / low) are ignored. */
export const MAX_SAMPLE_SPREAD = 1.5;
/** Learned refill windows are clamped to this range (ms): 1 s … 24 h. */
export const MIN_WINDOW_MS = 1_000;
/** Upper clamp of learned refill windows (ms). */
export const MAX_WINDOW_MS = 86_400_000;

function parseCount(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The raw values of one bucket's three headers. */
interface RawBucket {
  limit: string | null;
  remaining: string | null;
  reset: string | null;
}

/** The headers this module reads, gathered in one pass over the response's headers. */
interface RawLimitHeaders {
  date: string | null;
  retryAfter: string | null;
  retryAfterMs: string | null;
  readonly buckets: Record<BucketName, RawBucket>;
}

type BucketName = 'requests' | 'input-tokens' | 'output-tokens' | 'tokens';
function bucketOf(raw: RawLimitHeaders, name: string): RawBucket | undefined {
  return Object.hasOwn(raw.buckets, name) ? raw.buckets[name as BucketName] : undefined;
}

/**
 * One pass over the headers rather than fifteen lookups: a `Headers.get()` normalises and searches on
 * every call, and a response carries all of these (or none), on every call.
 */
function gatherHeaders(headers: Headers): RawLimitHeaders {
  const raw: RawLimitHeaders = {
    date: null,
    retryAfter: null,
    retryAfterMs: null,
    buckets: {
      requests: { limit: null, remaining: null, reset: null },
      'input-tokens': { limit: null, remaining: null, reset: null },
      'output-tokens': { limit: null, remaining: null, reset: null },
      tokens: { limit: null, remaining: null, reset: null },
    },
  };
  // Iteration yields lowercased names, with repeated headers already joined as `get()` would.
  for (const [name, value] of headers) {
    if (name.startsWith(PREFIX)) {
      const dash = name.lastIndexOf('-');
      // Own keys only: a header named after `__proto__` must not reach a prototype.
      const bucket = bucketOf(raw, name.slice(PREFIX.length, dash));
      const field = name.slice(dash + 1);
      if (bucket && (field === 'limit' || field === 'remaining' || field === 'reset')) bucket[field] = value;
    } else if (name === 'date') raw.date = value;
    else if (name === 'retry-after') raw.retryAfter = value;
    else if (name === 'retry-after-ms') raw.retryAfterMs = value;
  }
  return raw;
}

function parseBucket(raw: RawBucket, skewMs: number, skewUncertaintyMs: number): ParsedBucketHeaders | undefined {
  const limit = parseCount(raw.limit);
  const remainingRaw = parseCount(raw.remaining);
  if (limit === undefined || remainingRaw === undefined) return undefined;
  const remaining = Math.min(remainingRaw, limit);
  let resetMs: number | undefined;
  let resetUncertaintyMs = 0;
  if (raw.reset !== null) {
    const reset = parseReset(raw.reset);
    if (reset) {
      // Server clock → local clock.
      resetMs = reset.ms - skewMs;
      // RFC 3339 without a fraction has 1 s precision; the clock offset adds its own uncertainty.
      resetUncertaintyMs = (reset.subSecond ? 0 : 1000) + skewUncertaintyMs;
    }
  }
  return { limit, remaining, resetMs, resetUncertaintyMs };
}

/** Recent reset timestamps, parsed: consecutive responses repeat them (1 s precision), four per response. */
const resets = new Map<string, { ms: number; subSecond: boolean } | null>();

function parseReset(raw: string): { ms: number; subSecond: boolean } | undefined {
  let parsed = resets.get(raw);
  if (parsed === undefined) {
    const ms = Date.parse(raw.trim());
    parsed = Number.isFinite(ms) ? { ms, subSecond: /T\d{2}:\d{2}:\d{2}\.\d/.test(raw) } : null;
    if (resets.size >= 64) resets.clear();
    resets.set(raw, parsed);
  }
  return parsed ?? undefined;
}

/**
 * The server−local clock offset, learned from `date` headers. One header only says the server's clock
 * was in [date, date + 1 s) (it is truncated to the second); every header narrows the interval further,
 * since they arrive at different sub-second moments, until the offset is known to a few milliseconds.
 * An empty intersection (a clock stepped) starts over from the latest header.
 */
export class ClockSkew {
  #low = -Infinity;
  #high = Infinity;

  /** Learns from one `date` (epoch ms, truncated to the second) seen at local `nowMs`; returns the offset and its half-width. */
  update(serverDateMs: number, nowMs: number): { skewMs: number; uncertaintyMs: number } {
    const low = serverDateMs - nowMs;
    const high = low + 1000;
    const nextLow = Math.max(this.#low, low);
    const nextHigh = Math.min(this.#high, high);
    if (nextLow < nextHigh) {
      this.#low = nextLow;
      this.#high = nextHigh;
    } else {
      this.#low = low;
      this.#high = high;
    }
    return { skewMs: (this.#low + this.#high) / 2, uncertaintyMs: (this.#high - this.#low) / 2 };
  }
}

/**
 * Parse the rate-limit headers of one response (2xx or 429). Never throws; absent or malformed
 * values are simply left out.
 *
 * @param headers - The response headers.
 * @param nowMs - Local clock when the headers arrived, ms.
 * @param skew - The limiter's clock-offset estimate, narrowed by every `date` seen (default: this
 *   header alone, ±0.5 s).
 * @returns The buckets found, the server−local clock skew (from `date`) and `retry-after` in ms.
 */
export function parseRateLimitHeaders(headers: Headers, nowMs: number, skew?: ClockSkew): ParsedLimits {
  const raw = gatherHeaders(headers);
  let skewMs = 0;
  let usedDateHeader = false;
  let skewUncertaintyMs = 0;
  if (raw.date !== null) {
    const serverDate = parseHttpDate(raw.date);
    if (Number.isFinite(serverDate)) {
      const learned = (skew ?? new ClockSkew()).update(serverDate, nowMs);
      skewMs = learned.skewMs;
      skewUncertaintyMs = learned.uncertaintyMs;
      usedDateHeader = true;
    }
  }
  const result: ParsedLimits = { skewMs, usedDateHeader, retryAfterMs: parseRetryAfter(raw, nowMs + skewMs) };
  const requests = parseBucket(raw.buckets.requests, skewMs, skewUncertaintyMs);
  if (requests) result.requests = requests;
  const input = parseBucket(raw.buckets['input-tokens'], skewMs, skewUncertaintyMs);
  if (input) result.inputTokens = input;
  const output = parseBucket(raw.buckets['output-tokens'], skewMs, skewUncertaintyMs);
  if (output) result.outputTokens = output;
  const tokens = parseBucket(raw.buckets.tokens, skewMs, skewUncertaintyMs);
  if (tokens) result.tokens = tokens;
  return result;
}

/** The last `date` header parsed: it changes once a second, so most responses repeat it. */
let lastDate: { readonly raw: string; readonly ms: number } | undefined;

function parseHttpDate(raw: string): number {
  if (lastDate?.raw !== raw) lastDate = { raw, ms: Date.parse(raw) };
  return lastDate.ms;
}

/** `retry-after-ms` (ms, float), else `retry-after` (seconds, or an HTTP date on the server clock). */
function parseRetryAfter(raw: RawLimitHeaders, serverNowMs: number): number | undefined {
  const ms = parseCount(raw.retryAfterMs);
  if (ms !== undefined) return ms;
  if (raw.retryAfter === null) return undefined;
  const seconds = parseCount(raw.retryAfter);
  if (seconds !== undefined) return seconds * 1000;
  const at = Date.parse(raw.retryAfter);
  return Number.isFinite(at) ? Math.max(0, at - serverNowMs) : undefined;
}

/**
 * Guess how coarsely `remaining` was rounded: token counts of large buckets are reported in
 * thousands (a multiple of 1000 on a bucket of 10k or more is taken as rounded), anything else is
 * exact to within one unit.
 */
export function roundingGranularity(limit: number, remaining: number): number {
  return limit >= 10_000 && remaining % 1000 === 0 ? 1000 : 1;
}

/**
 * Learn the refill window (ms to refill from empty to full) from one `limit/remaining/reset` sample.
 *
 * The true deficit lies in `[deficit − g, deficit + g/2]` (g = rounding granularity) and the true
 * time to full in `[dt − u, dt + u]`, so the true rate lies in `[low, high]`. The sample is used only
 * when that interval is tight (`high ≤ 1.5 × low`). If the current rate is inside the interval it is
 * kept (no drift); otherwise the rate moves to `low`, the conservative end. A full bucket, a reset in
 * the past or an imprecise sample keeps `previousWindowMs`.
 *
 * @param previousWindowMs - Current window (60000 until learned).
 * @param limit - `-limit`.
 * @param remaining - `-remaining` (≤ limit).
 * @param resetInMs - `reset − serverNow`, ms.
 * @param uncertaintyMs - Half-width of the uncertainty of `resetInMs`.
 * @returns The window to use, ms, clamped to [{@link MIN_WINDOW_MS}, {@link MAX_WINDOW_MS}].
 */
export function deriveWindowMs(
  previousWindowMs: number,
  limit: number,
  remaining: number,
  resetInMs: number,
  uncertaintyMs: number,
): number {
  if (!(limit > 0)) return previousWindowMs;
  const deficit = limit - remaining;
  const g = roundingGranularity(limit, remaining);
  const lowDeficit = deficit - g;
  const shortest = resetInMs - uncertaintyMs;
  if (lowDeficit <= 0 || shortest <= 0) return previousWindowMs;
  const low = lowDeficit / (resetInMs + uncertaintyMs);
  const high = (deficit + g / 2) / shortest;
  if (high > MAX_SAMPLE_SPREAD * low) return previousWindowMs;
  const previousRate = limit / previousWindowMs;
  if (previousRate >= low && previousRate <= high) return previousWindowMs;
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, limit / low));
}
