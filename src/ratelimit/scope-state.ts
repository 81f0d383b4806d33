/**
 * The state of one rate-limit scope in this process: three buckets, the wait queue, in-flight
 * permits, the 429 pause and the (single) wake-up timer — plus the arithmetic that applies learned
 * headers to the buckets.
 *
 * @module
 */
import { deriveWindowMs } from './header-sync';
import { type BucketSyncUpdate } from './store';
import { DEFAULT_WINDOW_MS, TokenBucket } from './token-bucket';
import { type Demand, type Dimension, type LearnedLimit, type ParsedBucketHeaders, type ParsedLimits, type Permit } from './types';
import { type QueueEntry, WaitQueue } from './wait-queue';

/** A call waiting for capacity. @internal */
export interface Waiter extends QueueEntry {
  readonly demand: Demand;
  readonly enqueuedAt: number;
  /** Epoch ms after which it gives up (`Infinity`: never). */
  readonly deadline: number;
  readonly maxWaitMs: number;
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** `queued`, or `reserving` while a Redis reservation for it is in flight, `done` once settled. */
  phase: 'queued' | 'reserving' | 'done';
  /** Whether a `rateLimited` event was emitted for it. */
  announced: boolean;
}

/** What the limiter needs to know about an in-flight permit for header sync. @internal */
export interface InFlightEntry {
  /** Admission order within the scope. */
  readonly seq: number;
  readonly demand: Demand;
}

/** Result of {@link ScopeState.applyHeaders}. @internal */
export interface HeaderApplication {
  /** Some capacity or rate changed (or was learned for the first time). */
  changed: boolean;
  /** Settings to mirror to a shared store, per dimension. */
  syncs: readonly [BucketSyncUpdate | null, BucketSyncUpdate | null, BucketSyncUpdate | null];
}

/** Ceilings per dimension, in bucket order. */
export type Ceilings = readonly [number, number, number];

/** One scope. Fields are public to the limiter for speed. @internal */
export class ScopeState {
  /** Buckets in {@link DIMENSIONS} order: requests, input tokens, output tokens. */
  readonly buckets: readonly [TokenBucket, TokenBucket, TokenBucket];
  readonly queue = new WaitQueue<Waiter>();
  /** Admitted, unsettled permits in admission order (Set keeps insertion order). */
  readonly inFlight = new Set<InFlightEntry>();
  /** Response headers have been seen. */
  learned = false;
  /** Successful responses seen without any rate-limit header (while nothing was learned). */
  headerless = 0;
  /** Epoch ms (local clock) until which nobody is admitted. */
  pausedUntil = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  timerAt = Infinity;
  /** Lower bound of the earliest waiter deadline (may be stale-low; a scan refreshes it). */
  minDeadline = Infinity;
  nextWaiterSeq = 0;
  nextAdmitSeq = 0;
  /** A store reservation is in flight for the head. */
  reserving = false;
  /** Something changed while reserving: re-try at once instead of waiting for the poll timer. */
  repump = false;

  constructor(
    readonly name: string,
    ceilings: Ceilings,
    now: number,
  ) {
    this.buckets = [new TokenBucket(now), new TokenBucket(now), new TokenBucket(now)];
    for (let i = 0; i < 3; i++) {
      const bucket = this.buckets[i] as TokenBucket;
      const ceiling = ceilings[i] as number;
      bucket.ceiling = ceiling;
      if (ceiling !== Infinity) bucket.configure(ceiling, ceiling / DEFAULT_WINDOW_MS, now);
    }
  }

  /** Whether any bucket is accounted (otherwise only concurrency gates this scope). */
  get accounted(): boolean {
    return this.buckets[0].accounted || this.buckets[1].accounted || this.buckets[2].accounted;
  }

  /**
   * Apply parsed headers. `unseen[i]` is what we reserved that the server cannot have counted yet.
   * Dimensions absent from the headers are left alone; `tokens-*` stands in for a missing input or
   * output dimension (it reports the most restrictive of the two, so it is a conservative stand-in).
   *
   * @returns Whether any capacity or rate changed, and per dimension the settings to mirror to a
   *   shared store (`null` where the headers said nothing).
   */
  applyHeaders(parsed: ParsedLimits, unseen: readonly [number, number, number], now: number): HeaderApplication {
    const sources: (ParsedBucketHeaders | undefined)[] = [
      parsed.requests,
      parsed.inputTokens ?? parsed.tokens,
      parsed.outputTokens ?? parsed.tokens,
    ];
    const syncs: [BucketSyncUpdate | null, BucketSyncUpdate | null, BucketSyncUpdate | null] = [null, null, null];
    let changed = false;
    for (let i = 0; i < 3; i++) {
      const source = sources[i];
      if (source === undefined) continue;
      this.learned = true;
      const bucket = this.buckets[i] as TokenBucket;
      if (applyBucket(bucket, source, unseen[i] as number, now)) changed = true;
      syncs[i] = { capacity: bucket.capacity, refillPerMs: bucket.refillPerMs, levelCeiling: source.remaining - (unseen[i] as number) };
    }
    return { changed, syncs };
  }

  /** Capacity and rate of every dimension learned from headers. */
  knownLimits(): Partial<Record<Dimension, LearnedLimit>> {
    const out: Partial<Record<Dimension, LearnedLimit>> = {};
    const names: readonly Dimension[] = ['requests', 'inputTokens', 'outputTokens'];
    for (let i = 0; i < 3; i++) {
      const bucket = this.buckets[i] as TokenBucket;
      if (bucket.known) out[names[i] as Dimension] = { capacity: bucket.capacity, refillPerSec: bucket.refillPerMs * 1000 };
    }
    return out;
  }
}

/**
 * Apply one bucket's headers: capacity = min(limit, ceiling); rate = limit / learned window (at most
 * ceiling per minute); level = min(level, remaining − unseen).
 *
 * @returns Whether capacity or rate changed (or the bucket was learned for the first time).
 */
export function applyBucket(bucket: TokenBucket, h: ParsedBucketHeaders, unseen: number, now: number): boolean {
  if (h.resetMs !== undefined) {
    bucket.windowMs = deriveWindowMs(bucket.windowMs, h.limit, h.remaining, h.resetMs - now, h.resetUncertaintyMs);
  }
  const capacity = Math.min(h.limit, bucket.ceiling);
  let rate = h.limit / bucket.windowMs;
  if (bucket.ceiling !== Infinity) rate = Math.min(rate, bucket.ceiling / DEFAULT_WINDOW_MS);
  const changed =
    !bucket.known || bucket.capacity !== capacity || Math.abs(bucket.refillPerMs - rate) > 1e-9 * Math.max(rate, 1e-12);
  bucket.configure(capacity, rate, now);
  bucket.known = true;
  bucket.lowerTo(h.remaining - unseen, now);
  return changed;
}
