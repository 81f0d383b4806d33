/**
 * A continuously refilled token bucket: `capacity`, `refillPerMs` and a `level` that may go negative.
 *
 * A negative level is debt: a call's actual usage was above what it reserved, so later calls wait
 * until the refill has paid it back. A bucket whose capacity is `Infinity` is "not accounted": it
 * never blocks and its level is meaningless (the dimension is unknown and has no ceiling).
 *
 * Pure arithmetic, no timers, no allocation per operation.
 *
 * @module
 */

/** Refill window assumed until the headers teach otherwise: Anthropic's limits are "per minute". */
export const DEFAULT_WINDOW_MS = 60_000;

/** Relative slack when comparing a level with an amount, so float noise never strands a waiter. */
const EPSILON = 1e-9;

/** One bucket. Fields are public for speed; use the methods to keep the invariants. */
export class TokenBucket {
  /** Capacity; `Infinity` = not accounted. */
  capacity = Infinity;
  /** Refill rate, units per ms. */
  refillPerMs = 0;
  /** Level at `updatedAt` (≤ capacity; may be negative). */
  level = 0;
  /** Clock of the last refill, ms. */
  updatedAt: number;
  /** Whether capacity and rate come from response headers. */
  known = false;
  /** Time to refill from empty to full at the server's rate, as learned from headers (ms). */
  windowMs = DEFAULT_WINDOW_MS;
  /** Configured ceiling (explicit `rpm`/`itpm`/`otpm`); `Infinity` when none. */
  ceiling = Infinity;

  /**
   * @param now - Current clock, ms.
   */
  constructor(now: number) {
    this.updatedAt = now;
  }

  /** Whether this bucket limits anything. */
  get accounted(): boolean {
    return this.capacity !== Infinity;
  }

  /** Bring `level` up to date with the refill since `updatedAt`. A clock going backwards refills nothing. */
  refill(now: number): void {
    const dt = now - this.updatedAt;
    if (dt <= 0) return;
    this.updatedAt = now;
    if (this.capacity === Infinity || this.level >= this.capacity) return;
    const next = this.level + dt * this.refillPerMs;
    this.level = next < this.capacity ? next : this.capacity;
  }

  /**
   * Ms until `amount` fits (0 if it fits now, `Infinity` if the bucket does not refill). Call
   * {@link refill} first. A zero amount always fits, even in debt.
   */
  waitFor(amount: number): number {
    if (this.covers(amount)) return 0;
    if (this.refillPerMs <= 0) return Infinity;
    return (amount - this.level) / this.refillPerMs;
  }

  /** Whether `amount` fits now (call {@link refill} first). Zero amounts and unaccounted buckets always fit. */
  covers(amount: number): boolean {
    return amount <= 0 || this.capacity === Infinity || amount - this.level <= EPSILON * (amount > 1 ? amount : 1);
  }

  /** Give back (`delta > 0`) or charge (`delta < 0`) after a refill; never above capacity. */
  adjust(delta: number, now: number): void {
    if (this.capacity === Infinity || delta === 0) return;
    this.refill(now);
    const next = this.level + delta;
    this.level = next < this.capacity ? next : this.capacity;
  }

  /**
   * Set capacity and rate (e.g. from headers or a ceiling). A lower capacity clamps the level; a
   * higher one leaves the level to refill. Going from "not accounted" to accounted starts full
   * (callers then lower it with {@link lowerTo}).
   */
  configure(capacity: number, refillPerMs: number, now: number): void {
    this.refill(now);
    if (this.capacity === Infinity && capacity !== Infinity) this.level = capacity;
    this.capacity = capacity;
    this.refillPerMs = capacity === Infinity ? 0 : refillPerMs;
    if (this.level > capacity) this.level = capacity;
  }

  /** Never let the level exceed `ceilingLevel` (header sync: what the server says remains). */
  lowerTo(ceilingLevel: number, now: number): void {
    if (this.capacity === Infinity) return;
    this.refill(now);
    if (this.level > ceilingLevel) this.level = ceilingLevel;
  }
}
