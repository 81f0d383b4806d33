/** Fixed time windows for budgets and ledger buckets. */

/** One UTC day in ms. */
export const DAY_MS = 86_400_000;
/** One hour in ms. */
export const HOUR_MS = 3_600_000;
/** One minute in ms. */
export const MINUTE_MS = 60_000;

/**
 * A budget window: `'day'` (UTC calendar day), `'month'` (UTC calendar month), or a length in ms — fixed
 * windows aligned to the epoch (`[k·ms, (k+1)·ms)`).
 */
export type BudgetWindow = 'day' | 'month' | number;

/** Start (inclusive) and end (exclusive) of a window, epoch ms. */
export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

/** Start of the fixed `stepMs` bucket containing `at`. */
export function floorTo(at: number, stepMs: number): number {
  return Math.floor(at / stepMs) * stepMs;
}

/** The window of kind `window` that contains `now`. */
export function windowBounds(window: BudgetWindow, now: number): WindowBounds {
  if (window === 'day') {
    const start = floorTo(now, DAY_MS);
    return { start, end: start + DAY_MS };
  }
  if (window === 'month') {
    const d = new Date(now);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
  const start = floorTo(now, window);
  return { start, end: start + window };
}

/** Whether `window` is a valid {@link BudgetWindow}. */
export function isBudgetWindow(window: unknown): window is BudgetWindow {
  return window === 'day' || window === 'month' || (typeof window === 'number' && Number.isSafeInteger(window) && window >= 1000);
}

/** `'YYYY-MM-DD'` of the UTC day containing `at`. */
export function utcDay(at: number): string {
  return new Date(floorTo(at, DAY_MS)).toISOString().slice(0, 10);
}

/** `'YYYY-MM'` of the UTC month containing `at`. */
export function utcMonth(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}
