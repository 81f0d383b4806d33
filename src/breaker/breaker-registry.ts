import CircuitBreaker from 'opossum';
import { CircuitOpenError, type EarlierAttempts } from '../errors/circuit-open-error';
import type { BreakerState, BreakerStateChangeEvent } from '../events';
import type { ResolvedBreakerOptions } from '../options';

type Action = () => Promise<Response>;

/** Health snapshot of one breaker. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Epoch ms when it last opened, if it is open or half-open. */
  readonly openedAt?: number;
  /** Ms until a probe is allowed (open state only). */
  readonly retryAfterMs?: number;
  /** Attempts and failures in the rolling window. */
  readonly windowAttempts: number;
  readonly windowFailures: number;
}

/** Counted as a failure by opossum; carries the response the caller should still get. */
export class HealthFailure extends Error {
  constructor(readonly response: Response) {
    super(`service health failure: HTTP ${response.status}`);
    this.name = 'HealthFailure';
  }
}

/** Wraps an error opossum must not count (caller aborts, deadlines). */
export class NotCounted extends Error {
  constructor(readonly error: unknown) {
    super('not counted');
    this.name = 'NotCounted';
  }
}

/** One opossum breaker and the facts we keep beside it. */
export class ScopeBreaker {
  readonly #breaker: CircuitBreaker<[Action], Response>;
  #openedAt = 0;
  #state: BreakerState = 'closed';

  constructor(
    readonly scope: string,
    private readonly config: ResolvedBreakerOptions,
    onChange: (event: BreakerStateChangeEvent) => void,
  ) {
    this.#breaker = new CircuitBreaker<[Action], Response>((action: Action) => action(), {
      // opossum's own timeout stays off: its "Timed out after" error matches the SDK's timeout regex and
      // would be retried and replaced by APIConnectionTimeoutError. Attempts have their own timeout.
      timeout: false,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingWindowMs,
      rollingCountBuckets: 10,
      resetTimeout: config.resetTimeoutMs,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      name: scope,
      errorFilter: (error: unknown) => error instanceof NotCounted,
    });
    const change = (to: BreakerState) => {
      const from = this.#state;
      if (from === to) return;
      this.#state = to;
      const at = Date.now();
      if (to === 'open') this.#openedAt = at;
      onChange(
        to === 'open'
          ? { scope, from, to, at, retryAfterMs: config.resetTimeoutMs }
          : { scope, from, to, at },
      );
    };
    this.#breaker.on('open', () => change('open'));
    this.#breaker.on('halfOpen', () => change('halfOpen'));
    this.#breaker.on('close', () => change('closed'));
  }

  /**
   * Runs one attempt through the breaker. Rejects with `CircuitOpenError` when it is open; `earlier`
   * describes the call's previous attempts for that error.
   */
  async fire(action: Action, earlier?: EarlierAttempts): Promise<Response> {
    try {
      return await this.#breaker.fire(action);
    } catch (error) {
      if (error instanceof HealthFailure) return error.response;
      if (error instanceof NotCounted) throw error.error;
      if (CircuitBreaker.isOurError(error as Error)) throw this.openError(earlier);
      throw error;
    }
  }

  /** The error for a call refused because the breaker is open (or half-open with its probe in flight). */
  openError(earlier?: EarlierAttempts): CircuitOpenError {
    return new CircuitOpenError(this.scope, this.retryAfterMs(), this.#openedAt, earlier);
  }

  retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.config.resetTimeoutMs - Date.now());
  }

  get state(): BreakerState {
    return this.#state;
  }

  snapshot(): BreakerSnapshot {
    const stats = this.#breaker.stats;
    const base = { state: this.#state, windowAttempts: stats.fires, windowFailures: stats.failures };
    if (this.#state === 'closed') return base;
    return this.#state === 'open'
      ? { ...base, openedAt: this.#openedAt, retryAfterMs: this.retryAfterMs() }
      : { ...base, openedAt: this.#openedAt };
  }

  shutdown(): void {
    this.#breaker.shutdown();
  }
}

/**
 * All breakers of a client, by scope. Shared with `withOptions()` children, so a clone sees the same
 * open circuit as its parent.
 */
export class BreakerRegistry {
  readonly #breakers = new Map<string, ScopeBreaker>();

  constructor(
    readonly config: ResolvedBreakerOptions,
    private readonly onChange: (event: BreakerStateChangeEvent) => void,
  ) {}

  get(scope: string): ScopeBreaker {
    let breaker = this.#breakers.get(scope);
    if (!breaker) {
      breaker = new ScopeBreaker(scope, this.config, this.onChange);
      this.#breakers.set(scope, breaker);
    }
    return breaker;
  }

  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [scope, breaker] of this.#breakers) out[scope] = breaker.snapshot();
    return out;
  }

  /** True when at least one breaker exists and every one of them is open. */
  allOpen(): boolean {
    if (this.#breakers.size === 0) return false;
    for (const breaker of this.#breakers.values()) if (breaker.state !== 'open') return false;
    return true;
  }

  shutdown(): void {
    for (const breaker of this.#breakers.values()) breaker.shutdown();
    this.#breakers.clear();
  }
}
