import type { BreakerSnapshot } from '../breaker/circuit-breaker';
import type { BudgetState } from '../cost';
import type { KeySnapshot } from '../keys';
import type { ScopeSnapshot } from '../ratelimit';

/** Result of the last active health probe (`messages.countTokens`, which costs nothing). */
export interface ProbeState {
  readonly ok: boolean;
  /** Epoch ms of the probe. */
  readonly at: number;
  readonly latencyMs: number;
  /** Error class of a failed probe. */
  readonly errorClass?: string;
}


/** What `client.health()` returns. */
export interface HealthSnapshot {
  /** False when the client cannot serve calls now; `reasons` says why. */
  readonly ready: boolean;
  readonly reasons: readonly string[];
  /** Logical calls in flight (batched calls waiting for their batch are under `batches`). */
  readonly inFlight: number;
  /**
   * `batch: true` calls: gathered and not yet sent, batches being watched, and the calls waiting in them
   * (this process). Present once a batched call was made.
   */
  readonly batches?: { readonly gathered: number; readonly batches: number; readonly calls: number };
  /** Circuit breakers by scope. */
  readonly breakers: Readonly<Record<string, BreakerSnapshot>>;
  /** Rate-limit scopes: remaining capacity per dimension, queue depth, in flight. */
  readonly rateLimit: Readonly<Record<string, ScopeSnapshot>>;
  /** The budget's figures, when a budget is configured. */
  readonly budget?: BudgetState;
  /** The API key pool (aliases, in flight, quarantine), when `apiKeys` is used. Never the keys. */
  readonly keys?: readonly KeySnapshot[];
  /** The last active probe (`healthProbe`), when enabled. */
  readonly probe?: ProbeState;
  /** The last failed call's error class, when and with which status. */
  readonly lastError?: { readonly errorClass: string; readonly at: number; readonly status?: number };
}
