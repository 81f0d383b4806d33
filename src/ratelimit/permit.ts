/**
 * The permit handed to an admitted call. It remembers what was charged where, so that settling it
 * can give back or charge exactly the difference.
 *
 * @module
 */
import { type InFlightEntry } from './scope-state';
import { type Demand, type Permit, type SettleResult } from './types';

/** Receives settlements. @internal */
export interface PermitOwner {
  settlePermit(permit: PermitImpl, result: SettleResult): void;
}

/** Bit i set: dimension i was charged to the buckets at admission. @internal */
export type ChargedMask = number;

/** @internal */
export class PermitImpl implements Permit, InFlightEntry {
  /** Whether {@link settle} has run. */
  settled = false;
  /** Admitted before the limits were known, and recorded as such in the shared store. */
  announcedToStore = false;

  constructor(
    readonly scope: string,
    readonly demand: Demand,
    readonly waitedMs: number,
    /** Admission order within the scope. */
    readonly seq: number,
    /** Which dimensions were charged (unaccounted ones are not). */
    readonly charged: ChargedMask,
    /** Where the reservation was made. */
    readonly via: 'local' | 'store',
    private readonly owner: PermitOwner,
  ) {}

  settle(result: SettleResult): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.settlePermit(this, result);
  }
}
