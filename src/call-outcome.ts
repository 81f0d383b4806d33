import type { CallState, UsageTotals } from './call-state';
import type { CallRecord } from './events';

/** What a finished call came to, handed to completion hooks (cost, budgets, metrics). */
export interface CallOutcome {
  readonly ok: boolean;
  readonly status?: number;
  /** Usage of the response that served the call (JSON body, or the stream's final totals). */
  readonly usage?: UsageTotals;
  /** The model that answered (response `model`). */
  readonly responseModel?: string;
  /** Class name of the error the caller got. */
  readonly errorClass?: string;
  /** The error, for hooks that need more than its name. */
  readonly error?: unknown;
  /** A streaming call. */
  readonly stream: boolean;
  /** A stream that died before its final usage: the output tokens are estimated from the deltas seen. */
  readonly outputEstimated?: boolean;
}

/** Runs when a call completes, before its `callComplete` event; may add facts to the record. */
export type CompletionHook = (state: CallState, outcome: CallOutcome, record: MutableRecord) => void;

/** The record under construction, for hooks to enrich (e.g. `costUsd`). */
export type MutableRecord = { -readonly [K in keyof CallRecord]: CallRecord[K] };
