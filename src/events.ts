import type { FailureReason } from './classify';
import type { CallCostBreakdown } from './cost/call-cost';
import type { KeyQuarantinedEvent } from './keys/types';

export type { KeyQuarantinedEvent };

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
  /** HTTP attempts sent (a batched call counts one: its request in the batch). */
  readonly attempts: number;
  /** The call went through a Message Batch (`callOptions({ batch: true })`); `notes.batchId` names it. */
  readonly batched?: boolean;
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

/** Payload of `cost`: what one completed Messages call cost. */
export interface CostEvent {
  readonly callId: string;
  /** The model that answered and was priced. */
  readonly model: string;
  readonly user?: string;
  readonly tags?: readonly string[];
  readonly usd: number;
  /** The exact amount as a decimal string. */
  readonly exactUsd: string;
  /** Priced by a fallback row (unknown model) or from third-party rates. */
  readonly approximate: boolean;
  /** USD per category: input, output, cacheRead, cacheWrite5m, cacheWrite1h, webSearch. */
  readonly breakdown: CallCostBreakdown;
}

/** Payload of `budgetWarning`: settled spend crossed `warnAt` of a budget (once per window and scope). */
export interface BudgetWarningEvent {
  readonly scope: 'global' | 'user';
  readonly user?: string;
  readonly limitUsd: number;
  readonly spentUsd: number;
  readonly warnAt: number;
  readonly windowStart: number;
  readonly windowResetAt: number;
}

/** Payload of `unknownModel`: a model without a price row was priced by the documented fallback (once per id). */
export interface UnknownModelEvent {
  readonly model: string;
  /** The model whose rates were used. */
  readonly pricedModel: string;
  readonly line: string | undefined;
  readonly fallback: string;
}

/** Payload of `batchSubmitted`: a Message Batch of `batch: true` calls was created. */
export interface BatchSubmittedEvent {
  /** The batch's id (`msgbatch_…`). */
  readonly batchId: string;
  /** Calls in it. */
  readonly calls: number;
  /** Of those, calls sent again after their request expired or was cancelled in an earlier batch. */
  readonly resent: number;
  /** Whether the batch is recorded in Redis, so that another process can collect it after a crash. */
  readonly persisted: boolean;
}

/** Payload of `batchEnded`: a batch's results were read (or every call in it gave up and it was cancelled). */
export interface BatchEndedEvent {
  readonly batchId: string;
  /** Requests per result type, as the API counted them. */
  readonly counts: { readonly succeeded: number; readonly errored: number; readonly expired: number; readonly canceled: number };
  /** From submission to the results, ms (in this process). */
  readonly durationMs: number;
  /** `'results'` when its results were read; `'cancelled'` when every call in it had given up. */
  readonly outcome: 'results' | 'cancelled';
}

/** Payload of `redisError` / `redisRecovered`: shared state lost or regained its Redis. */
export interface RedisStateEvent {
  /** Which part: `'cost'` (budgets, ledger) or `'rateLimit'`. */
  readonly component: 'cost' | 'rateLimit' | 'batch';
  readonly operation?: string;
  /** The error's message (redisError only). */
  readonly message?: string;
}

/** Payload of `suspiciousInput`: the sanitizer matched a prompt-injection heuristic. Never carries the text. */
export interface SuspiciousInputEvent {
  readonly callId: string;
  /** Pattern names and where they matched (e.g. `messages[2].content[0].text`). */
  readonly findings: readonly { readonly pattern: string; readonly location: string }[];
  /** What the client did: `'warn'` (sent anyway) or `'reject'` (refused with InputRejectedError). */
  readonly action: 'warn' | 'reject';
}

/** Payload of `rateLimited`: a call waits for rate-limit capacity (client-side, nothing was sent). */
export interface RateLimitedEvent {
  /** The limit scope (the model, or `client`, prefixed by the key alias when keys do not share limits). */
  readonly scope: string;
  /** What it waits for: a bucket (`requests`, `inputTokens`, `outputTokens`), `concurrency`, `pause` (a 429's retry-after) or `queue`. */
  readonly dimension: string;
  /** Expected wait, ms. */
  readonly waitMs: number;
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
  /** A completed Messages call was priced (once per call, before `callComplete`). */
  cost: CostEvent;
  /** Settled spend crossed a budget's `warnAt`. */
  budgetWarning: BudgetWarningEvent;
  /** A model without a price row was priced by fallback (once per model id). */
  unknownModel: UnknownModelEvent;
  /** Redis failed; shared state falls back to this process (or calls fail, per `onRedisError`). */
  redisError: RedisStateEvent;
  /** Redis answers again; shared state is shared again. */
  redisRecovered: RedisStateEvent;
  /** The sanitizer flagged a suspected prompt injection. */
  suspiciousInput: SuspiciousInputEvent;
  /** A call waits for client-side rate-limit capacity. */
  rateLimited: RateLimitedEvent;
  /** A pooled API key was refused (401/403) and taken out of rotation. Carries the alias, never the key. */
  keyQuarantined: KeyQuarantinedEvent;
  /** A Message Batch of `batch: true` calls was created. */
  batchSubmitted: BatchSubmittedEvent;
  /** A Message Batch of `batch: true` calls ended and its results were handed out. */
  batchEnded: BatchEndedEvent;
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
