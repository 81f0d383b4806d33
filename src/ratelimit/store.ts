/**
 * The contract of a shared bucket store (Redis in practice, see `redis-store.ts`): the three buckets
 * of a scope live outside the process, and every operation on them is atomic on the store's side.
 *
 * Every call carries a {@link ScopeSeed}: this process's current view of the scope's buckets, used
 * to re-create the shared state if it was lost (Redis restarted without persistence, `FLUSHDB`,
 * eviction, key expiry). A store never fails permanently because its keys are gone.
 *
 * @module
 */
import { type Demand, type Dimension } from './types';

/** This process's view of one bucket, used to (re-)seed the shared state. */
export interface BucketSeed {
  /** Capacity; `Infinity` = not accounted. */
  capacity: number;
  /** Refill rate, units per ms. */
  refillPerMs: number;
  /** Current local level (≤ capacity). */
  level: number;
}

/** Seeds of the three buckets, in requests / input / output order. */
export type ScopeSeed = readonly [BucketSeed, BucketSeed, BucketSeed];

/** New settings for one bucket learned from headers. */
export interface BucketSyncUpdate {
  /** New capacity. */
  capacity: number;
  /** New refill rate, units per ms. */
  refillPerMs: number;
  /** The level may not exceed this (server `remaining` minus our unseen reservations). */
  levelCeiling: number;
}

/** Outcome of an atomic all-or-none reservation. */
export type StoreReserveResult =
  | { kind: 'ok' }
  | {
      kind: 'wait';
      /** Ms until the reservation would fit with no other traffic; `Infinity` if the bucket does not refill. */
      waitMs: number;
      /** What is short. */
      reason: Dimension | 'pause';
    }
  | { kind: 'capacity'; dimension: Dimension; capacity: number };

/** Buckets shared across processes. Implementations reject (never hang) when the backend fails. */
export interface SharedBucketStore {
  /** `ready`: answering; `pending`: connecting (try it); `down`: do not bother (reconnecting / closed). */
  connectionState(): 'ready' | 'pending' | 'down';
  /** Reserve all three dimensions or none; when it cannot, say how long to wait. */
  reserve(scope: string, demand: Demand, seed: ScopeSeed): Promise<StoreReserveResult>;
  /** Give back (`delta > 0`) or charge (`delta < 0`) per dimension. */
  adjust(scope: string, delta: readonly [number, number, number], seed: ScopeSeed): Promise<void>;
  /** Apply learned settings; `null` leaves a dimension alone. */
  sync(scope: string, updates: readonly [BucketSyncUpdate | null, BucketSyncUpdate | null, BucketSyncUpdate | null], seed: ScopeSeed): Promise<void>;
  /**
   * Record (`delta > 0`) or give back (`delta < 0`) demand this process admitted before it knew the
   * limits, so that whoever learns them first leaves room for it. Optional: without it, processes that
   * start together may overshoot the server's bucket once by their start-up calls.
   */
  startup?(scope: string, delta: readonly [number, number, number], seed: ScopeSeed): Promise<void>;
  /** Block the scope for everyone for `durationMs` (on the store's clock). */
  pause(scope: string, durationMs: number, seed: ScopeSeed): Promise<void>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  /** Release what the store owns (a client it created itself). */
  close(): Promise<void>;
}
