import { ResilientClaudeError } from './resilient-claude-error';

/**
 * The circuit breaker for this call's scope is open: the service has been failing, so the call was
 * refused without sending anything. Retry after `retryAfterMs`, when the breaker lets a probe through.
 */
export class CircuitOpenError extends ResilientClaudeError {
  /** The breaker scope that is open (e.g. `'default'`, a model id or a key alias). */
  readonly scope: string;
  /** Milliseconds until the breaker goes half-open and admits a probe (0 while a probe is in flight). */
  readonly retryAfterMs: number;
  /** Epoch ms when the breaker opened. */
  readonly openedAt: number;

  constructor(scope: string, retryAfterMs: number, openedAt: number) {
    super(
      'CIRCUIT_OPEN',
      `Circuit breaker "${scope}" is open after repeated service failures; no request was sent. ` +
        `Next probe allowed in ${Math.ceil(retryAfterMs)} ms.`,
    );
    this.scope = scope;
    this.retryAfterMs = retryAfterMs;
    this.openedAt = openedAt;
  }
}
