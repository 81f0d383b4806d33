import type { BreakerSnapshot } from './breaker/breaker-registry';

/** What `client.health()` returns. */
export interface HealthSnapshot {
  /** False when the client cannot serve calls now; `reasons` says why. */
  readonly ready: boolean;
  readonly reasons: readonly string[];
  /** Circuit breakers by scope. */
  readonly breakers: Readonly<Record<string, BreakerSnapshot>>;
  /** The last failed call's error class, when and with which status. */
  readonly lastError?: { readonly errorClass: string; readonly at: number; readonly status?: number };
}
