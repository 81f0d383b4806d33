import type { BreakerStateChangeEvent } from '../events';
import { CircuitBreaker, type BreakerSnapshot, type CircuitBreakerConfig } from './circuit-breaker';

/**
 * All breakers of a client, by scope, created on first use. Shared with `withOptions()` children, so a
 * clone sees the same open circuit as its parent.
 */
export class BreakerRegistry {
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(
    readonly config: CircuitBreakerConfig,
    private readonly onChange: (event: BreakerStateChangeEvent) => void,
  ) {}

  get(scope: string): CircuitBreaker {
    let breaker = this.#breakers.get(scope);
    if (!breaker) {
      breaker = new CircuitBreaker(scope, this.config, this.onChange);
      this.#breakers.set(scope, breaker);
    }
    return breaker;
  }

  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [scope, breaker] of this.#breakers) out[scope] = breaker.snapshot();
    return out;
  }

  /**
   * True when at least one breaker exists and every one of them is open with no probe due yet. Once a
   * probe may go, the client counts as ready again: a load balancer that kept traffic away would
   * otherwise never send the call that probes.
   */
  allOpen(): boolean {
    if (this.#breakers.size === 0) return false;
    for (const breaker of this.#breakers.values()) if (breaker.state !== 'open' || breaker.retryAfterMs() === 0) return false;
    return true;
  }

  /** Fails the calls waiting on any breaker (the client is closing). */
  shutdown(): void {
    for (const breaker of this.#breakers.values()) breaker.shutdown();
  }
}
