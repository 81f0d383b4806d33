import { CircuitOpenError, type EarlierAttempts } from '../errors/circuit-open-error';
import type { BreakerState, BreakerStateChangeEvent } from '../events';

/** Breaker settings with defaults applied (see `BreakerOptions` for their meaning). */
export interface CircuitBreakerConfig {
  readonly failureRatio: number;
  readonly sampleSize: number;
  readonly minimumAttempts: number;
  readonly sampleWindowMs: number;
  readonly probeAfterMs: number;
  readonly maxProbeAfterMs: number;
  readonly whenOpen: 'wait' | 'fail';
  readonly maxWaitMs: number;
  readonly maxWaiting: number;
}

/** Health snapshot of one breaker. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Epoch ms when it last opened, if it is open or half-open. */
  readonly openedAt?: number;
  /** Ms until a probe is allowed (open state only). */
  readonly retryAfterMs?: number;
  /** Attempts and health failures among the recent attempts the breaker judges by. */
  readonly windowAttempts: number;
  readonly windowFailures: number;
  /** Calls held until the probe's verdict. */
  readonly waiting: number;
}

/** What one admitted attempt turned out to say about the service's health. */
export type HealthVerdict = 'healthy' | 'unhealthy' | 'unknown';

/** An admitted attempt: report its verdict once with {@link CircuitBreaker.report}. */
export interface BreakerTicket {
  /** This attempt is the probe whose verdict decides whether the breaker closes. */
  readonly probe: boolean;
}

/** How a call asks to be admitted. */
export interface AdmitOptions {
  /** Ends the wait (the call's abort signal, or its deadline's). */
  readonly signal?: AbortSignal | undefined;
  /** Ms left before the call's deadline: a call that cannot outlast the next probe fails at once. */
  readonly remainingMs?: number | undefined;
  /** Fail at once instead of waiting (e.g. another model can take the call). */
  readonly failFast?: boolean;
  /** For the error's message: what the call already went through. */
  readonly earlier?: EarlierAttempts;
}

interface Waiter {
  readonly resolve: (ticket: BreakerTicket) => void;
  readonly reject: (error: unknown) => void;
  readonly earlier: EarlierAttempts | undefined;
  cleanup: () => void;
}

/** How long a probe may stay without a verdict before another one is allowed (a hung probe must not hold everyone). */
const PROBE_LOST_MS = 10_000;

const PROBE: BreakerTicket = Object.freeze({ probe: true });
const REGULAR: BreakerTicket = Object.freeze({ probe: false });

/**
 * One circuit breaker: a small state machine over the recent attempts of its scope. It keeps no timer
 * while nothing waits: every decision is taken from timestamps when a call arrives or an outcome is
 * reported, so an idle or discarded client leaves nothing running.
 *
 * - **closed**: every attempt goes. It remembers the last `sampleSize` verdicts (those younger than
 *   `sampleWindowMs`) and opens when at least `minimumAttempts` of them are there and at least
 *   `failureRatio` of them were health failures. With the defaults (90 % of the last 20), scattered
 *   faults do not trip it: at a 30 % fault rate, 18 failures among 20 attempts has a probability of about
 *   4·10⁻⁸ per attempt. A dead service fills it within ~18 attempts.
 * - **open**: no request leaves. After `probeAfterMs` one call goes through as the probe (half-open);
 *   each failed probe doubles the pause, up to `maxProbeAfterMs`, so recovery is seen within that cap.
 * - **halfOpen**: the probe is in flight; its success closes the breaker (and forgets the failures),
 *   its failure opens it again.
 *
 * While open or half-open, a call either waits for the probe's verdict (`whenOpen: 'wait'`, bounded by
 * `maxWaitMs`, its deadline and its signal, at most `maxWaiting` of them) or fails at once with
 * {@link CircuitOpenError} (`'fail'`).
 */
export class CircuitBreaker {
  readonly #config: CircuitBreakerConfig;
  readonly #onChange: (event: BreakerStateChangeEvent) => void;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  // Ring buffer of the last `sampleSize` verdicts.
  readonly #at: Float64Array;
  readonly #failed: Uint8Array;
  #next = 0;
  #filled = 0;
  #openedAt = 0;
  #probeAt = 0;
  #pauseMs: number;
  #probeStartedAt = 0;
  readonly #waiters: Waiter[] = [];
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly scope: string,
    config: CircuitBreakerConfig,
    onChange: (event: BreakerStateChangeEvent) => void,
    now: () => number = Date.now,
  ) {
    this.#config = config;
    this.#onChange = onChange;
    this.#now = now;
    this.#at = new Float64Array(config.sampleSize);
    this.#failed = new Uint8Array(config.sampleSize);
    this.#pauseMs = config.probeAfterMs;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /**
   * Admits one attempt: a ticket at once when closed (no allocation, no await), a promise of one when
   * the call waits for the probe's verdict. Throws (or rejects with) `CircuitOpenError` when it may not
   * wait.
   */
  admit(options: AdmitOptions = {}): BreakerTicket | Promise<BreakerTicket> {
    if (this.#state === 'closed') return REGULAR;
    const now = this.#now();
    if (this.#mayProbe(now)) return this.#startProbe(now);
    const retryAfterMs = this.retryAfterMs();
    const cannotWait =
      options.failFast === true ||
      this.#config.whenOpen === 'fail' ||
      this.#waiters.length >= this.#config.maxWaiting ||
      options.signal?.aborted === true ||
      (options.remainingMs !== undefined && options.remainingMs <= retryAfterMs);
    if (cannotWait) throw this.openError(options.earlier);
    return this.#wait(options);
  }

  /** Reports the verdict of an admitted attempt. */
  report(ticket: BreakerTicket, verdict: HealthVerdict): void {
    if (ticket.probe) {
      this.#probeVerdict(verdict);
      return;
    }
    // Attempts admitted before the breaker opened say nothing the probe will not say better.
    if (this.#state !== 'closed' || verdict === 'unknown') return;
    const failed = verdict === 'unhealthy';
    const now = this.#now();
    this.#at[this.#next] = now;
    this.#failed[this.#next] = failed ? 1 : 0;
    this.#next = (this.#next + 1) % this.#config.sampleSize;
    if (this.#filled < this.#config.sampleSize) this.#filled++;
    if (failed && this.#shouldOpen(now)) this.#open(now, this.#config.probeAfterMs);
  }

  /** The error for a call refused because the breaker is open (or its probe is in flight). */
  openError(earlier?: EarlierAttempts): CircuitOpenError {
    return new CircuitOpenError(this.scope, this.retryAfterMs(), this.#openedAt, earlier);
  }

  /** Ms until the next probe may go (0 when closed or while a probe is in flight). */
  retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#probeAt - this.#now());
  }

  snapshot(): BreakerSnapshot {
    const { attempts, failures } = this.#window(this.#now());
    const base = { state: this.#state, windowAttempts: attempts, windowFailures: failures, waiting: this.#waiters.length };
    if (this.#state === 'closed') return base;
    return this.#state === 'open'
      ? { ...base, openedAt: this.#openedAt, retryAfterMs: this.retryAfterMs() }
      : { ...base, openedAt: this.#openedAt };
  }

  /** Fails every waiting call (the client is closing). */
  shutdown(): void {
    this.#clearWake();
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(this.openError(waiter.earlier));
    }
  }

  #window(now: number): { attempts: number; failures: number } {
    const oldest = now - this.#config.sampleWindowMs;
    let attempts = 0;
    let failures = 0;
    for (let i = 0; i < this.#filled; i++) {
      if (this.#at[i]! < oldest) continue;
      attempts++;
      failures += this.#failed[i]!;
    }
    return { attempts, failures };
  }

  #shouldOpen(now: number): boolean {
    const { attempts, failures } = this.#window(now);
    return attempts >= this.#config.minimumAttempts && failures >= this.#config.failureRatio * attempts;
  }

  #mayProbe(now: number): boolean {
    if (this.#state === 'open') return now >= this.#probeAt;
    return now - this.#probeStartedAt >= PROBE_LOST_MS;
  }

  #startProbe(now: number): BreakerTicket {
    this.#probeStartedAt = now;
    this.#transition('halfOpen', now);
    this.#scheduleWake();
    return PROBE;
  }

  #probeVerdict(verdict: HealthVerdict): void {
    if (this.#state !== 'halfOpen') return;
    const now = this.#now();
    if (verdict === 'healthy') {
      this.#close(now);
    } else if (verdict === 'unhealthy') {
      this.#open(now, Math.min(this.#pauseMs * 2, this.#config.maxProbeAfterMs));
    } else {
      // The probe ended without a verdict (aborted, refused locally): the next call probes at once.
      this.#probeAt = now;
      this.#transition('open', now, 0);
      this.#handOverProbe();
    }
  }

  #open(now: number, pauseMs: number): void {
    this.#pauseMs = pauseMs;
    this.#probeAt = now + pauseMs;
    if (this.#state === 'closed') this.#openedAt = now;
    this.#transition('open', now, pauseMs);
    this.#scheduleWake();
  }

  #close(now: number): void {
    this.#filled = 0;
    this.#next = 0;
    this.#pauseMs = this.#config.probeAfterMs;
    this.#clearWake();
    this.#transition('closed', now);
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cleanup();
      waiter.resolve(REGULAR);
    }
  }

  #transition(to: BreakerState, now: number, retryAfterMs?: number): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#onChange(
      retryAfterMs === undefined ? { scope: this.scope, from, to, at: now } : { scope: this.scope, from, to, at: now, retryAfterMs },
    );
  }

  #wait(options: AdmitOptions): Promise<BreakerTicket> {
    return new Promise<BreakerTicket>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, earlier: options.earlier, cleanup: () => undefined };
      const leave = (error: unknown) => {
        const index = this.#waiters.indexOf(waiter);
        if (index < 0) return;
        this.#waiters.splice(index, 1);
        waiter.cleanup();
        if (this.#waiters.length === 0) this.#clearWake();
        reject(error);
      };
      const signal = options.signal;
      const onAbort = () => leave(signal?.reason);
      const limit = Math.min(this.#config.maxWaitMs, options.remainingMs ?? Infinity);
      const timer = setTimeout(() => leave(this.openError(options.earlier)), limit);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.#waiters.push(waiter);
      this.#scheduleWake();
    });
  }

  /** While calls wait, one timer wakes the first of them when a probe may go. */
  #scheduleWake(): void {
    this.#clearWake();
    if (this.#waiters.length === 0 || this.#state === 'closed') return;
    const now = this.#now();
    const at = this.#state === 'open' ? this.#probeAt : this.#probeStartedAt + PROBE_LOST_MS;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#handOverProbe();
    }, Math.max(0, at - now));
  }

  #clearWake(): void {
    if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
  }

  /** Lets the first waiting call go as the probe, if a probe may go now. */
  #handOverProbe(): void {
    const now = this.#now();
    if (this.#state === 'closed' || !this.#mayProbe(now)) {
      this.#scheduleWake();
      return;
    }
    const first = this.#waiters.shift();
    if (!first) return;
    first.cleanup();
    first.resolve(this.#startProbe(now));
  }
}
