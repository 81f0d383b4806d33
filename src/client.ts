import Anthropic, { type APIPromise } from '@anthropic-ai/sdk';
import type { AbstractPage, PagePromise } from '@anthropic-ai/sdk/core/pagination';
import { BreakerRegistry } from './breaker/breaker-registry';
import { callState, RETRY_BUDGET, type CallState } from './call-state';
import { ConfigError } from './errors/config-error';
import { EventHub, type BreakerStateChangeEvent, type CallRecord, type ResilientClaudeEventName, type ResilientClaudeListener } from './events';
import { createBreakerLayer } from './layers/breaker';
import { createDeadlineLayer } from './layers/deadline';
import { createObserveLayer, type CompletionHook } from './layers/observe';
import { createRetryLayer } from './layers/retry';
import { createStreamGuardLayer } from './layers/stream-guard';
import { resolveLogging, type ResolvedLogging } from './logging';
import {
  resolveBreaker,
  resolveRetry,
  validateOptions,
  type ResilientClaudeOptions,
  type ResolvedBreakerOptions,
  type ResolvedRetryOptions,
} from './options';
import { composeLayers, createLayerContext } from './outer-chain';
import type { ClientOptions, FinalRequestOptions, Middleware, MiddlewareNext } from './sdk-types';
import type { HealthSnapshot } from './health';

/** Marks the options `withOptions()` hands to a child: the parent's shared state and what was overridden. */
const INHERIT = Symbol.for('resilient-claude.inherit');

interface Inheritance {
  readonly shared: SharedState;
  readonly overrides: Partial<ResilientClaudeOptions>;
}

/**
 * State shared between a client and its `withOptions()` children: the breakers, the event listeners,
 * the logger, and the health facts. Layers are rebuilt per client from its options; state is not.
 */
interface SharedState {
  readonly logging: ResolvedLogging;
  readonly events: EventHub;
  breakers: BreakerRegistry | undefined;
  lastError: { errorClass: string; at: number; status?: number } | undefined;
}

type RequestOptionsInput = Parameters<Anthropic['request']>[0];
type PageOptionsInput = Parameters<Anthropic['requestAPIList']>[1];

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown })?.then === 'function';
}

function breakerScopeOf(config: ResolvedBreakerOptions): (state: CallState) => string {
  return config.scope === 'model' ? (state) => state.model ?? 'default' : () => 'default';
}

/**
 * A drop-in `Anthropic` client with retries that do the right thing, a circuit breaker, deadlines,
 * structured logs and events. Construct it exactly like `new Anthropic(options)`: every SDK option, method,
 * type and return value keeps working.
 *
 * How it is put together (the order is the architecture):
 * - **per call**, where the SDK's own retry loop used to sit (around `fetchWithTimeout`, outside user
 *   middleware): `observe` → `deadline` → `retry`. The SDK's loop is kept from retrying on top (the
 *   per-call SDK `maxRetries` is 0, or 1 with token credentials so its one-shot refresh after a 401
 *   still works), so there is exactly one retry owner.
 * - **per HTTP request**, innermost, through the SDK's `backendMiddleware()` hook (inside user
 *   middleware, which keeps seeing every attempt as the SDK documents): `breaker` → `streamGuard`.
 */
export class ResilientClaude extends Anthropic {
  readonly #shared: SharedState;
  readonly #retry: ResolvedRetryOptions;
  readonly #callLayers: readonly Middleware[];
  readonly #requestLayers: readonly Middleware[];

  constructor(options: ResilientClaudeOptions = {}) {
    const inheritance = (options as Record<symbol, unknown>)[INHERIT] as Inheritance | undefined;
    validateOptions(options);
    const retries = reconcileRetries(options, inheritance === undefined);
    const overrides = inheritance?.overrides;
    // The SDK's logLevel is known only after super(); the sink reads it late, per record.
    const level = { current: (): string => 'warn' };
    const logging =
      inheritance && !(overrides && 'logger' in overrides)
        ? inheritance.shared.logging
        : resolveLogging(options.logger, () => level.current());

    // The SDK sees every option it knows, unchanged, plus internal keys withOptions() relies on.
    const sdkOptions: Record<string | symbol, unknown> = { ...options };
    if (logging.sdkLogger) sdkOptions.logger = logging.sdkLogger;
    else delete sdkOptions.logger;
    if (options.maxRetries === undefined && retries !== undefined) sdkOptions.maxRetries = retries;
    super(sdkOptions as ClientOptions);

    level.current = () => this.logLevel ?? 'warn';
    const breakerConfig = resolveBreaker(options);
    const events =
      inheritance?.shared.events ??
      new EventHub((event, error) =>
        logging.sink.log('error', { event, error: error instanceof Error ? error.message : String(error) }, 'event listener threw'),
      );
    const shared: SharedState = inheritance?.shared ?? { logging, events, breakers: undefined, lastError: undefined };
    if (!inheritance || (overrides && 'circuitBreaker' in overrides) || !shared.breakers) {
      shared.breakers = breakerConfig.enabled
        ? new BreakerRegistry(breakerConfig, (event) => this.#onBreakerChange(event))
        : undefined;
    }
    this.#shared = inheritance && logging !== inheritance.shared.logging ? { ...shared, logging } : shared;
    this.#retry = resolveRetry(options, this.maxRetries);

    const hooks: CompletionHook[] = [];
    const sink = this.#shared.logging.sink;
    // The architecture, in order. Per call (outermost first):
    this.#callLayers = [
      // sanitize: rewrites the request body once per call (issue: security)
      createObserveLayer({
        events: this.#shared.events,
        log: sink,
        errorClassFor: (status, body, headers) => this.makeStatusError(status, body as object, undefined, headers).name,
        hooks,
        onRecord: (record) => this.#onRecord(record),
      }),
      // budget: reserve the worst-case cost before sending, settle after (issue: cost)
      createDeadlineLayer(options.deadline),
      createRetryLayer({
        config: this.#retry,
        events: this.#shared.events,
        log: sink,
        statusError: (status, body, headers) => this.makeStatusError(status, body as object, undefined, headers),
      }),
    ];
    // Per HTTP request, innermost (inside user middleware):
    const breakers = this.#shared.breakers;
    this.#requestLayers = [
      // keys: pick the API key for this attempt (issue: operations)
      // rateLimit: reserve RPM/ITPM/OTPM capacity, reconcile after (issue: rate limiting)
      ...(breakers ? [createBreakerLayer(breakers, breakerScopeOf(breakerConfig))] : []),
      createStreamGuardLayer(() => this.timeout),
    ];
  }

  /** Subscribes to a client event (`retry`, `breakerStateChange`, `callComplete`, …). */
  on<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): this {
    this.#shared.events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): this {
    this.#shared.events.off(event, listener);
    return this;
  }

  /** A snapshot of the client's health: breakers, the last error, and readiness with reasons. */
  health(): HealthSnapshot {
    const breakers = this.#shared.breakers?.snapshot() ?? {};
    const reasons: string[] = [];
    if (this.#shared.breakers?.allOpen()) reasons.push('every circuit breaker is open');
    const lastError = this.#shared.lastError;
    return {
      ready: reasons.length === 0,
      reasons,
      breakers,
      ...(lastError ? { lastError: { ...lastError } } : {}),
    };
  }

  /** Stops the breakers' timers. Call when the client is no longer used (e.g. at shutdown or in tests). */
  async close(): Promise<void> {
    this.#shared.breakers?.shutdown();
  }

  /**
   * Same as the SDK's, returning a `ResilientClaude` that shares this client's breakers, listeners and
   * logger; passing `circuitBreaker` or `logger` gives the clone its own.
   */
  override withOptions(options: Partial<ResilientClaudeOptions>): this {
    const overrides: Partial<ResilientClaudeOptions> = { ...options };
    const retry = overrides.retry;
    if (retry && retry.retries !== undefined && overrides.maxRetries === undefined) overrides.maxRetries = retry.retries;
    const inheritance: Inheritance = { shared: this.#shared, overrides };
    return super.withOptions({ ...overrides, [INHERIT]: inheritance } as Partial<ClientOptions>);
  }

  /** Keeps the caller's retry budget for our retry layer and stops the SDK's loop from retrying on top. */
  override request<Rsp>(options: RequestOptionsInput, remainingRetries: number | null = null): APIPromise<Rsp> {
    return super.request<Rsp>(this.#adoptRetries(options) as RequestOptionsInput, remainingRetries);
  }

  /** Same as {@link request}, for list endpoints (which bypass `request()` in the SDK). */
  override requestAPIList<Item = unknown, PageClass extends AbstractPage<Item> = AbstractPage<Item>>(
    Page: new (...args: ConstructorParameters<typeof AbstractPage>) => PageClass,
    options: PageOptionsInput,
  ): PagePromise<PageClass, Item> {
    return super.requestAPIList<Item, PageClass>(Page, this.#adoptRetries(options) as PageOptionsInput);
  }

  /** Runs the per-call layers around each SDK attempt; see the class description. */
  override async fetchWithTimeout(
    url: RequestInfo,
    init: RequestInit | undefined,
    ms: number,
    controller: AbortController,
    requestOptions?: FinalRequestOptions,
    logCtx?: { requestLogID: string; retryOfRequestLogID?: string | undefined },
  ): Promise<Response> {
    if (!requestOptions) return super.fetchWithTimeout(url, init, ms, controller, requestOptions, logCtx);
    const ctx = createLayerContext(requestOptions, this.logger);
    const state = callState(ctx)!;
    let sent = 0;
    const send: MiddlewareNext = async ({ url: target, ...attemptInit }) => {
      sent++;
      // The first attempt uses the SDK's own controller and init untouched (its signal follows the
      // caller's). Later attempts reuse the controller while it is live — the SDK's listener from the
      // first attempt keeps it following the caller — and get a fresh one once a timeout aborted it.
      let attemptController = controller;
      if (sent > 1) {
        attemptInit = { ...attemptInit, signal: undefined };
        if (controller.signal.aborted) attemptController = new AbortController();
      }
      const follow = state.signal;
      const needsLink = follow !== undefined && (attemptController !== controller || state.deadlineMs !== undefined);
      let unlink: (() => void) | undefined;
      if (needsLink) {
        const onAbort = () => attemptController.abort(follow.reason);
        if (follow.aborted) onAbort();
        else {
          follow.addEventListener('abort', onAbort, { once: true });
          unlink = () => follow.removeEventListener('abort', onAbort);
        }
      }
      try {
        return await super.fetchWithTimeout(target, attemptInit, ms, attemptController, requestOptions, logCtx);
      } catch (error) {
        unlink?.();
        throw error;
      }
    };
    const headers = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
    const target = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    return composeLayers(this.#callLayers, send, ctx)({ ...init, headers, url: target });
  }

  /** Our per-request layers, inside user middleware, around the SDK's own backend middleware. */
  protected override backendMiddleware(): ReadonlyArray<Middleware> {
    const own = super.backendMiddleware();
    return own.length === 0 ? this.#requestLayers : [...this.#requestLayers, ...own];
  }

  #adoptRetries(options: RequestOptionsInput | PageOptionsInput): RequestOptionsInput | PageOptionsInput {
    const adopt = (o: FinalRequestOptions): FinalRequestOptions => {
      if (RETRY_BUDGET in o) return o;
      const requested = o.maxRetries ?? this.maxRetries;
      // An invalid value goes on unchanged so the SDK rejects it with its own error.
      if (!Number.isInteger(requested) || requested < 0) return o;
      return { ...o, maxRetries: this.#sdkPasses(), [RETRY_BUDGET]: requested } as FinalRequestOptions;
    };
    return isThenable(options) ? Promise.resolve(options).then(adopt) : adopt(options as FinalRequestOptions);
  }

  /**
   * SDK retry passes allowed on top of ours: none with a static key or token (no refresh possible), one
   * otherwise, so the SDK can refresh a bearer token once after a 401. Our retry layer marks every final
   * outcome so that the pass is used for nothing else.
   */
  #sdkPasses(): number {
    const staticKey = this.apiKey != null || typeof this._options.apiKey === 'function' || this.authToken != null;
    return staticKey ? 0 : 1;
  }

  #onBreakerChange(event: BreakerStateChangeEvent): void {
    const sink = this.#shared.logging.sink;
    const message = `circuit breaker ${event.scope}: ${event.from} -> ${event.to}`;
    sink.log(event.to === 'closed' ? 'info' : 'warn', { ...event }, message);
    this.#shared.events.emit('breakerStateChange', event);
  }

  #onRecord(record: CallRecord): void {
    if (!record.ok && record.errorClass) {
      this.#shared.lastError = {
        errorClass: record.errorClass,
        at: Date.now(),
        ...(record.status !== undefined ? { status: record.status } : {}),
      };
    }
  }
}

/**
 * `maxRetries` (SDK-compatible) and `retry.retries` are one setting. On a fresh client they must agree;
 * a `withOptions()` child takes `maxRetries` (which the SDK always passes). Returns the retry count to give
 * the SDK as `maxRetries`, or undefined to leave the SDK's default.
 */
function reconcileRetries(options: ResilientClaudeOptions, fresh: boolean): number | undefined {
  const fromRetry = options.retry ? options.retry.retries : undefined;
  if (fresh && options.maxRetries !== undefined && fromRetry !== undefined && options.maxRetries !== fromRetry) {
    throw new ConfigError('retry.retries', `the same value as maxRetries (${options.maxRetries}), or only one of them`);
  }
  return options.maxRetries ?? fromRetry;
}
