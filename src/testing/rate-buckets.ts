/**
 * Continuous token-bucket rate limiting, modelled on how Anthropic describes its limits.
 *
 * One set of buckets per server (= one organization). Each configured dimension — requests
 * (`rpm`), input tokens (`itpm`) and output tokens (`otpm`) — is a bucket whose capacity is the
 * limit and which refills continuously at `limit / windowMs` per millisecond, on the injected clock.
 *
 * A `/v1/messages` request needs 1 request token, its input tokens (minus cache reads when
 * `cacheAwareInput`) and `max_tokens` of output capacity. Output is reserved up front; when the
 * response ends, `max_tokens − actual output` is refunded. If any bucket lacks capacity the request
 * is refused (429) and consumes nothing. A request that needs more than a bucket's whole capacity
 * is admitted once that bucket is full, and empties it (otherwise it could never succeed).
 *
 * @module
 */

/** Rate limits for one organization. Omitted dimensions are unlimited. */
export interface RateLimits {
  /** Requests per window. */
  rpm?: number;
  /** Input tokens per window. */
  itpm?: number;
  /** Output tokens per window. */
  otpm?: number;
  /** Window length in ms. Default 60000 (the limits are "per minute"). */
  windowMs?: number;
  /**
   * Whether cache reads are exempt from the input-token limit, like Anthropic's cache-aware ITPM.
   * Cache writes always count. Default `true`.
   */
  cacheAwareInput?: boolean;
  /**
   * Granularity of the token `remaining` headers: the level is rounded down to a multiple of this.
   * Default 1 (exact). The requests `remaining` header is always exact.
   */
  roundRemaining?: number;
  /**
   * Whose buckets: `'model'` (default) — one set per model, as the real API limits each model
   * separately — or `'organization'`: one set shared by every model.
   */
  scope?: 'model' | 'organization';
}

/** The three bucket dimensions. */
export type RateDimension = 'requests' | 'input-tokens' | 'output-tokens';

const DIMENSIONS: readonly RateDimension[] = ['requests', 'input-tokens', 'output-tokens'];
const DESCRIPTION: Record<RateDimension, string> = {
  requests: 'requests',
  'input-tokens': 'input tokens',
  'output-tokens': 'output tokens',
};

class Bucket {
  level: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    public updatedAt: number,
    fillRatio = 1,
  ) {
    this.level = limit * fillRatio;
  }

  refill(now: number): void {
    const dt = now - this.updatedAt;
    if (dt <= 0) return;
    this.level = Math.min(this.limit, this.level + (dt * this.limit) / this.windowMs);
    this.updatedAt = now;
  }

  /** Ms until `need` tokens are available (0 if they are). */
  waitFor(need: number): number {
    const missing = need - this.level;
    return missing <= 1e-9 ? 0 : (missing * this.windowMs) / this.limit;
  }

  /** Ms until the bucket is full. */
  untilFull(): number {
    return ((this.limit - this.level) * this.windowMs) / this.limit;
  }
}

/** What a request needs from the buckets. @internal */
export interface RateNeed {
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
}

/** Output capacity held for an admitted request until its response ends. @internal */
export interface Reservation {
  /** Output tokens taken from the bucket at admission. */
  readonly output: number;
  released: boolean;
}

/** The result of {@link RateLimiter.admit}. @internal */
export type Admission =
  | { readonly ok: true; readonly reservation: Reservation }
  | { readonly ok: false; readonly retryAfterS: number; readonly message: string; readonly dimension: RateDimension };

/**
 * RFC 3339, rounded up so that "full at" is never early: to the whole second on real minute windows,
 * like the API; to the millisecond on compressed windows (`windowMs` below a minute), so that a client
 * learns a compressed window as precisely as it learns a real one (a second on a 10 s window would be
 * a 10 % error, where the API's second on its minute is under 2 %).
 */
function formatReset(ms: number, windowMs: number): string {
  if (windowMs < 60_000) return new Date(Math.ceil(ms)).toISOString();
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function checkLimit(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`rateLimits.${name} must be a positive finite number, got ${String(value)}`);
  }
}

/** One organization's buckets. @internal */
export class RateLimiter {
  private readonly buckets = new Map<RateDimension, Bucket>();
  private windowMs = 60_000;
  private roundRemaining = 1;
  /** Whether cache reads are exempt from the input bucket. */
  cacheAwareInput = true;

  /**
   * @param limits - Initial limits.
   * @param now - Current clock, ms.
   */
  constructor(limits: RateLimits, now: number) {
    this.set(limits, now);
  }

  /**
   * Replaces the limits. A dimension that stays configured keeps its **fill ratio**: a bucket that
   * was 25% full is 25% full of the new capacity. A newly configured dimension starts full; a
   * dropped one disappears. A new `windowMs` changes refill speed from now on.
   *
   * @param limits - The new limits.
   * @param now - Current clock, ms.
   */
  set(limits: RateLimits, now: number): void {
    checkLimit('rpm', limits.rpm);
    checkLimit('itpm', limits.itpm);
    checkLimit('otpm', limits.otpm);
    checkLimit('windowMs', limits.windowMs);
    checkLimit('roundRemaining', limits.roundRemaining);
    this.windowMs = limits.windowMs ?? 60_000;
    this.roundRemaining = Math.max(1, Math.floor(limits.roundRemaining ?? 1));
    this.cacheAwareInput = limits.cacheAwareInput ?? true;
    const wanted: Record<RateDimension, number | undefined> = {
      requests: limits.rpm,
      'input-tokens': limits.itpm,
      'output-tokens': limits.otpm,
    };
    for (const dim of DIMENSIONS) {
      const limit = wanted[dim];
      const old = this.buckets.get(dim);
      if (limit === undefined) {
        this.buckets.delete(dim);
        continue;
      }
      let ratio = 1;
      if (old !== undefined) {
        old.refill(now);
        ratio = old.level / old.limit;
      }
      this.buckets.set(dim, new Bucket(limit, this.windowMs, now, ratio));
    }
  }

  /** Whether any dimension is configured. */
  get active(): boolean {
    return this.buckets.size > 0;
  }

  /**
   * Admits a request (consuming its tokens and reserving output) or refuses it (consuming nothing).
   *
   * @param need - Input tokens (already cache-adjusted) and `max_tokens`.
   * @param now - Current clock, ms.
   */
  admit(need: RateNeed, now: number): Admission {
    const wants: Array<[RateDimension, number]> = [
      ['requests', 1],
      ['input-tokens', need.inputTokens],
      ['output-tokens', need.maxOutputTokens],
    ];
    let waitMs = 0;
    let blocking: RateDimension | undefined;
    for (const [dim, amount] of wants) {
      const bucket = this.buckets.get(dim);
      if (bucket === undefined) continue;
      bucket.refill(now);
      const wait = bucket.waitFor(Math.min(amount, bucket.limit));
      if (wait > 0) {
        blocking ??= dim;
        waitMs = Math.max(waitMs, wait);
      }
    }
    if (blocking !== undefined) {
      const limit = this.buckets.get(blocking)!.limit;
      const per = this.windowMs === 60_000 ? 'minute' : `${this.windowMs} ms`;
      return {
        ok: false,
        dimension: blocking,
        retryAfterS: Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)),
        message:
          `This request would exceed your organization's rate limit of ${limit} ${DESCRIPTION[blocking]} per ${per}. ` +
          `Please reduce the prompt length or the maximum tokens requested, or try again later.`,
      };
    }
    let output = 0;
    for (const [dim, amount] of wants) {
      const bucket = this.buckets.get(dim);
      if (bucket === undefined) continue;
      const take = Math.min(amount, bucket.limit);
      bucket.level = Math.max(0, bucket.level - take);
      if (dim === 'output-tokens') output = take;
    }
    return { ok: true, reservation: { output, released: false } };
  }

  /**
   * Returns unused output capacity once a response has ended: `reserved − min(actual, reserved)`.
   * Idempotent per reservation.
   *
   * @param reservation - From an admitted request.
   * @param actualOutput - Output tokens the response actually produced.
   * @param now - Current clock, ms.
   */
  release(reservation: Reservation, actualOutput: number, now: number): void {
    if (reservation.released) return;
    reservation.released = true;
    const bucket = this.buckets.get('output-tokens');
    if (bucket === undefined) return;
    const refund = reservation.output - Math.min(actualOutput, reservation.output);
    if (refund <= 0) return;
    bucket.refill(now);
    bucket.level = Math.min(bucket.limit, bucket.level + refund);
  }

  /**
   * The `anthropic-ratelimit-*` headers for the current state: for each configured dimension
   * `-limit`, `-remaining` (floor of the level; token dimensions rounded down to a multiple of
   * `roundRemaining`) and `-reset` (RFC 3339, the moment the bucket will be full again with no more
   * traffic, rounded up to the second — to the millisecond on windows shorter than a minute). `anthropic-ratelimit-tokens-*` repeats whichever of the
   * input/output buckets has less remaining (ties: the smaller limit).
   *
   * @param now - Current clock, ms.
   */
  headers(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    const described: Partial<Record<RateDimension, { limit: number; remaining: number; reset: string }>> = {};
    for (const dim of DIMENSIONS) {
      const bucket = this.buckets.get(dim);
      if (bucket === undefined) continue;
      bucket.refill(now);
      let remaining = Math.floor(bucket.level + 1e-9);
      if (dim !== 'requests') remaining -= remaining % this.roundRemaining;
      const info = { limit: bucket.limit, remaining, reset: formatReset(now + bucket.untilFull(), this.windowMs) };
      described[dim] = info;
      out[`anthropic-ratelimit-${dim}-limit`] = String(info.limit);
      out[`anthropic-ratelimit-${dim}-remaining`] = String(info.remaining);
      out[`anthropic-ratelimit-${dim}-reset`] = info.reset;
    }
    const input = described['input-tokens'];
    const output = described['output-tokens'];
    let tokens = input ?? output;
    if (input !== undefined && output !== undefined) {
      const outputTighter =
        output.remaining < input.remaining || (output.remaining === input.remaining && output.limit < input.limit);
      tokens = outputTighter ? output : input;
    }
    if (tokens !== undefined) {
      out['anthropic-ratelimit-tokens-limit'] = String(tokens.limit);
      out['anthropic-ratelimit-tokens-remaining'] = String(tokens.remaining);
      out['anthropic-ratelimit-tokens-reset'] = tokens.reset;
    }
    return out;
  }
}
