import { ResilientClaudeError } from './resilient-claude-error';

/** What the call had already been through when the breaker refused it. */
export interface EarlierAttempts {
  /** HTTP requests this call had already sent. */
  readonly sent: number;
  /** HTTP status of the last of them, when it was a response. */
  readonly lastStatus?: number;
}

/**
 * The circuit breaker for this call's scope is open: the service has been failing, so the request was
 * refused without being sent. Retry after `retryAfterMs`, when the breaker lets a probe through. When the
 * breaker opened in the middle of a call's retries, `earlier` says what the call had already received.
 */
export class CircuitOpenError extends ResilientClaudeError {
  /** The breaker scope that is open (e.g. `'default'`, a model id or a key alias). */
  readonly scope: string;
  /** Milliseconds until the breaker goes half-open and admits a probe (0 while a probe is in flight). */
  readonly retryAfterMs: number;
  /** Epoch ms when the breaker opened. */
  readonly openedAt: number;
  /** The call's earlier attempts, when the breaker refused a retry rather than the first attempt. */
  readonly earlier: EarlierAttempts | undefined;

  constructor(scope: string, retryAfterMs: number, openedAt: number, earlier?: EarlierAttempts) {
    const before =
      earlier && earlier.sent > 0
        ? `opened during this call after ${earlier.sent} failed attempt(s)${earlier.lastStatus ? ` (last: HTTP ${earlier.lastStatus})` : ''}; no further request was sent`
        : 'is open after repeated service failures; no request was sent';
    super('CIRCUIT_OPEN', `Circuit breaker "${scope}" ${before}. Next probe allowed in ${Math.ceil(retryAfterMs)} ms.`);
    this.scope = scope;
    this.retryAfterMs = retryAfterMs;
    this.openedAt = openedAt;
    this.earlier = earlier && earlier.sent > 0 ? earlier : undefined;
  }
}
