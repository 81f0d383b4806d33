import type { FailureReason } from './classify';

/** Circuit breaker states. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Payload of `retry`: an attempt failed and another one is scheduled. */
export interface RetryEvent {
  readonly callId: string;
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** Sleep before the next attempt, ms. */
  readonly delayMs: number;
  /** Where the delay came from. */
  readonly delaySource: 'retry-after-ms' | 'retry-after' | 'backoff';
  readonly reason: FailureReason;
  readonly status?: number;
  readonly requestId?: string;
  readonly model?: string;
}

/** Payload of `breakerStateChange`. */
export interface BreakerStateChangeEvent {
  readonly scope: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Epoch ms of the change. */
  readonly at: number;
  /** When opening: ms until a probe will be let through. */
  readonly retryAfterMs?: number;
}

/** Token counts of a completed call. */
export interface CallTokens {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
}

/**
 * Payload of `callComplete`: the one record of a logical call (the same facts as its log line).
 * Contains no prompt, completion, API key or header.
 */
export interface CallRecord {
  readonly callId: string;
  readonly method: string;
  readonly path: string;
  /** Requested model (`params.model`), if any. */
  readonly model?: string;
  /** Model that answered (response `model`), if known. */
  readonly responseModel?: string;
  /** `params.metadata.user_id` (or the per-call `user`). */
  readonly user?: string;
  readonly tags?: readonly string[];
  readonly stream: boolean;
  readonly requestId?: string;
  /** HTTP attempts sent. */
  readonly attempts: number;
  /** Final HTTP status, if a response arrived. */
  readonly status?: number;
  readonly ok: boolean;
  /** Class name of the error the caller got (e.g. `OverloadedError`, `CircuitOpenError`). */
  readonly errorClass?: string;
  /** Why the last attempt failed, when it did. */
  readonly failureReason?: FailureReason;
  /** Wall time from the first layer to the end (for streams: the end of the stream). */
  readonly latencyMs: number;
  /** Time spent waiting for rate-limit capacity. */
  readonly rateLimitWaitMs: number;
  readonly tokens?: CallTokens;
  /** Cost of the call in USD, when the cost layer priced it. */
  readonly costUsd?: number;
  /** Extra facts layers added (e.g. the route taken). */
  readonly notes?: Readonly<Record<string, unknown>>;
}

/**
 * Every event the client emits, with its payload type. Listeners run synchronously; an exception in a
 * listener is logged and swallowed — it never fails the call that emitted the event.
 */
export interface ResilientClaudeEvents {
  /** An attempt failed and the call will try again after `delayMs`. */
  retry: RetryEvent;
  /** A circuit breaker changed state. */
  breakerStateChange: BreakerStateChangeEvent;
  /** A logical call finished (success or failure). Fires once per call. */
  callComplete: CallRecord;
}

/** Name of an event in {@link ResilientClaudeEvents}. */
export type ResilientClaudeEventName = keyof ResilientClaudeEvents;

/** Listener for event `E`. */
export type ResilientClaudeListener<E extends ResilientClaudeEventName> = (payload: ResilientClaudeEvents[E]) => void;

type AnyListener = (payload: never) => void;

/**
 * A small typed event hub. Not `node:events`: the client already extends `Anthropic`, listener errors
 * must be contained, and emitting with no listener must cost nothing on the hot path.
 */
export class EventHub {
  readonly #listeners = new Map<ResilientClaudeEventName, Set<AnyListener>>();
  readonly #onListenerError: (event: string, error: unknown) => void;

  constructor(onListenerError: (event: string, error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as AnyListener);
  }

  off<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): void {
    this.#listeners.get(event)?.delete(listener as AnyListener);
  }

  /** Whether anyone listens: lets emitters skip building payloads. */
  has(event: ResilientClaudeEventName): boolean {
    const set = this.#listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  emit<E extends ResilientClaudeEventName>(event: E, payload: ResilientClaudeEvents[E]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as ResilientClaudeListener<E>)(payload);
      } catch (error) {
        this.#onListenerError(event, error);
      }
    }
  }

  listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}
