import Anthropic, { type APIPromise } from '@anthropic-ai/sdk';
import type { AbstractPage, PagePromise } from '@anthropic-ai/sdk/core/pagination';
import type { Registry, RegistryContentType } from 'prom-client';
import { callOptions, validateCallOptions } from './call-options';
import { callState, INTERNAL_CALL, RETRY_BUDGET } from './call-state';
import type { BatchApi } from './batch/batch-queue';
import { batchingOf, type Batching } from './batch/batching';
import { disabledCostsView, type CostsView } from './cost/cost-tracker';
import { ConfigError } from './errors/config-error';
import type { ResilientClaudeEventName, ResilientClaudeListener } from './events';
import type { HealthSnapshot } from './health';
import type { HealthProbeOptions } from './options/health-probe-options';
import type { KeyPool } from './keys';
import { resolveLogging, type LogSink } from './logging';
import { validateOptions, type ResilientClaudeOptions } from './options';
import { composeLayers, createLayerContext } from './outer-chain';
import { pipelineFor } from './runtime/client-pipeline';
import { ClientRuntime, type HealthFacts } from './runtime/client-runtime';
import { fallbackApiKey } from './runtime/credentials';
import { guardMessageEntryPoints } from './sanitize/entry-guard';
import { checkSdk, SUPPORTED_SDK_RANGE } from './sdk/seams';
import type { ClientOptions, FinalRequestOptions, Middleware, MiddlewareNext, RequestOptions } from './sdk-types';
import type { BatchCreateParams } from '@anthropic-ai/sdk/resources/messages/batches';
import { MAX_TIMER_MS } from './util/timers';

/** Longest delay one timer can hold: the SDK's timer for attempts whose timeout the attempt layer enforces. */

/** Marks the options `withOptions()` hands to a child: the parent's runtime and what was overridden. */
const INHERIT = Symbol.for('resilient-claude.inherit');

interface Inheritance {
  readonly runtime: ClientRuntime;
  readonly overrides: Partial<ResilientClaudeOptions>;
}

type RequestOptionsInput = Parameters<Anthropic['request']>[0];
type PageOptionsInput = Parameters<Anthropic['requestAPIList']>[1];

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown })?.then === 'function';
}

/**
 * A drop-in `Anthropic` client with retries that do the right thing, a circuit breaker, deadlines, cost
 * tracking and budgets, input checks, structured logs and events. Construct it exactly like
 * `new Anthropic(options)`: every SDK option, method, type and return value keeps working.
 *
 * This file holds only the SDK seams. The layers and their order are assembled in `src/pipeline.ts`
 * (its comment says why that order); what a client shares with its `withOptions()` clones is built in
 * `src/runtime/`. The two seams:
 * - **per call**, where the SDK's own retry loop used to sit (this class's `fetchWithTimeout`, outside
 *   user middleware): sanitize → route → observe → budget → batch → deadline → fallback → retry. The SDK's loop
 *   is kept from retrying on top (the per-call SDK `maxRetries` is 0, or 1 with token credentials so its
 *   one-shot refresh after a 401 still works): exactly one retry owner.
 * - **per HTTP request**, innermost, through the SDK's `backendMiddleware()` hook (inside user
 *   middleware, which keeps seeing every attempt as the SDK documents): keys → breaker → rateLimit →
 *   attempt.
 */
export class ResilientClaude extends Anthropic {
  readonly #runtime: ClientRuntime;
  readonly #callLayers: readonly Middleware[];
  readonly #requestLayers: readonly Middleware[];
  readonly #apiKeyIsFunction: boolean;
  #batching: Batching | undefined;

  constructor(options: ResilientClaudeOptions = {}) {
    const inheritance = (options as Record<symbol, unknown>)[INHERIT] as Inheritance | undefined;
    const sdk = checkSdk();
    validateOptions(options);
    const retries = reconcileRetries(options, inheritance === undefined);
    // The SDK's logLevel is known only after super(); the sink reads it late, per record.
    const level = { current: (): string => 'warn' };
    const logging =
      inheritance && !('logger' in inheritance.overrides) && !('logBodies' in inheritance.overrides)
        ? inheritance.runtime.logging
        : resolveLogging(options.logger, () => level.current(), options.logBodies === true);

    // The SDK sees every option it knows, unchanged, plus internal keys withOptions() relies on.
    const sdkOptions: Record<string | symbol, unknown> = { ...options };
    if (logging.sdkLogger) sdkOptions.logger = logging.sdkLogger;
    else delete sdkOptions.logger;
    if (options.maxRetries === undefined && retries !== undefined) sdkOptions.maxRetries = retries;
    const apiKey = fallbackApiKey(options, inheritance !== undefined);
    if (apiKey !== undefined) sdkOptions.apiKey = apiKey;
    super(sdkOptions as ClientOptions);
    level.current = () => this.logLevel ?? 'warn';
    this.#apiKeyIsFunction = typeof options.apiKey === 'function';

    if (!sdk.supported) warnUntestedSdkOnce(sdk.version, logging.sink);
    const runtime = new ClientRuntime(logging, options, inheritance?.runtime, inheritance?.overrides);
    this.#runtime = runtime;
    const pipeline = pipelineFor(options, runtime, {
      maxRetries: this.maxRetries,
      // SDK 1.17+ takes the request's method and URL as a fifth argument; earlier ones ignore it.
      statusError: (status, body, headers, errorOptions) =>
        (this.makeStatusError as (...args: unknown[]) => Error).call(this, status, body, undefined, headers, errorOptions),
    });
    this.#callLayers = pipeline.call;
    this.#requestLayers = pipeline.request;
    runtime.attachBatchApi(() => batchApiOf(this));
    if (options.healthProbe && !runtime.health.probeTimer) startHealthProbe(this, runtime.health, options.healthProbe);
    if (options.sanitize !== false && options.sanitize?.validate !== false) {
      guardMessageEntryPoints(this.messages);
      guardMessageEntryPoints(this.beta.messages);
    }
  }

  /** What the calls of this client (and its clones) cost; see `CostsView`. Always empty with `cost: false`. */
  get costs(): CostsView {
    return this.#runtime.costs?.view() ?? disabledCostsView();
  }

  /** The API key pool (`apiKeys`): `snapshot()`, `restore(alias)`, `quarantine(alias)`. Undefined without one. */
  get keys(): KeyPool | undefined {
    return this.#runtime.keys;
  }

  /**
   * The client's Message Batches queue for `callOptions({ batch: true })` calls: `resume()` collects the
   * batches an earlier process sent and never collected (with `redis`), `pending` counts what waits.
   */
  get batching(): Batching {
    this.#batching ??= batchingOf(this.#runtime);
    return this.#batching;
  }

  /** The prom-client registry holding the client's metrics. Undefined with `metrics: false`. */
  get metrics(): Registry<RegistryContentType> | undefined {
    return this.#runtime.metrics?.registry;
  }

  /** Subscribes to a client event (`retry`, `breakerStateChange`, `callComplete`, …). */
  on<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): this {
    this.#runtime.events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<E extends ResilientClaudeEventName>(event: E, listener: ResilientClaudeListener<E>): this {
    this.#runtime.events.off(event, listener);
    return this;
  }

  /**
   * A snapshot of the client's health, from real traffic: breakers and rate-limit scopes, the budget,
   * calls in flight, the last error, and readiness with reasons (every breaker open, budget exhausted).
   */
  health(): HealthSnapshot {
    const runtime = this.#runtime;
    const breakers = runtime.breakers?.snapshot() ?? {};
    const budget = runtime.costs?.budget?.state();
    const reasons: string[] = [];
    if (runtime.breakers?.allOpen()) reasons.push('every circuit breaker is open');
    if (budget && (budget.remainingUsd <= 0 || runtime.costs?.exhausted())) {
      reasons.push('the budget is exhausted until the window resets');
    }
    if (runtime.keys && runtime.keys.usableCount() === 0) reasons.push('every API key is quarantined');
    const probe = runtime.health.probe;
    if (probe && !probe.ok) reasons.push(`the health probe failed (${probe.errorClass ?? 'error'})`);
    const lastError = runtime.health.lastError;
    const batches = runtime.batchesPending();
    return {
      ready: reasons.length === 0,
      reasons,
      inFlight: runtime.health.inFlight,
      breakers,
      rateLimit: runtime.limiter?.snapshot() ?? {},
      ...(budget ? { budget } : {}),
      ...(runtime.keys ? { keys: runtime.keys.snapshot() } : {}),
      ...(batches ? { batches } : {}),
      ...(probe ? { probe } : {}),
      ...(lastError ? { lastError: { ...lastError } } : {}),
    };
  }

  /**
   * Releases everything the client holds at once: calls waiting on an open breaker, the health probe's
   * timer, Redis connections it opened. Optional: a client dropped without it leaves no timer running
   * and does not keep the process alive. Clones share these with their parent: close the parent, once.
   */
  async close(): Promise<void> {
    await this.#runtime.close();
  }

  /**
   * Same as the SDK's, returning a `ResilientClaude` that shares this client's breakers, listeners and
   * logger; passing `circuitBreaker` or `logger` gives the clone its own.
   */
  override withOptions(options: Partial<ResilientClaudeOptions>): this {
    const overrides: Partial<ResilientClaudeOptions> = { ...options };
    const retry = overrides.retry;
    if (retry && retry.retries !== undefined && overrides.maxRetries === undefined) overrides.maxRetries = retry.retries;
    const inheritance: Inheritance = { runtime: this.#runtime, overrides };
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
    // One SDK pass of the call. A second pass only happens for the SDK's 401 token refresh; if the first
    // pass ended in an error the SDK would retry, the error is replayed rather than retried again.
    state.tries.sdkPasses++;
    state.tries.sdkWillRetry = false;
    if (state.tries.finalThrown) throw state.tries.finalThrown.error;
    if (state.tries.sdkPasses === 1) validateCallOptions(state.call);
    // When the call may be retried (and our attempt layer is in place), the attempt layer enforces the
    // timeout on each attempt's own controller, and the SDK gets a timer that never fires: its per-call
    // controller must not be left aborted by a timeout, since later attempts and MessageStream read it.
    state.timing.attemptTimeoutMs = state.tries.retryBudget > 0 && this.#ownsAttempts() ? ms : undefined;
    const attemptMs = state.timing.attemptTimeoutMs === undefined ? ms : MAX_TIMER_MS;
    let sent = 0;
    const send: MiddlewareNext = async ({ url: target, ...attemptInit }) => {
      sent++;
      // The first attempt hands the SDK its init untouched (its signal follows the caller's). Later ones
      // leave the caller's signal out: the SDK's listener from the first attempt already links it to the
      // controller, and a second one would never be released.
      if (sent > 1) attemptInit = { ...attemptInit, signal: undefined };
      // Without per-attempt controllers, the deadline must reach the SDK's.
      const deadline = state.timing.attemptTimeoutMs === undefined ? state.timing.deadlineSignal : undefined;
      const onDeadline = () => controller.abort(deadline?.reason);
      if (deadline) {
        if (deadline.aborted) onDeadline();
        else deadline.addEventListener('abort', onDeadline, { once: true });
      }
      try {
        return await super.fetchWithTimeout(target, attemptInit, attemptMs, controller, requestOptions, logCtx);
      } finally {
        deadline?.removeEventListener('abort', onDeadline);
      }
    };
    const headers = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
    const target = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    return composeLayers(this.#callLayers, send, ctx)({ ...init, headers, url: target });
  }

  /** Whether our attempt layer runs for requests (a subclass may replace `backendMiddleware()`). */
  #ownsAttempts(): boolean {
    const attemptLayer = this.#requestLayers[this.#requestLayers.length - 1];
    return attemptLayer !== undefined && this.backendMiddleware().includes(attemptLayer);
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
    const staticKey = this.apiKey != null || this.#apiKeyIsFunction || this.authToken != null;
    return staticKey ? 0 : 1;
  }

}

/** The batch endpoints as the client's own housekeeping calls (retried, but not recorded as calls). */
function batchApiOf(client: Anthropic): BatchApi {
  const internal = { [INTERNAL_CALL]: true } as unknown as RequestOptions;
  const batches = client.messages.batches;
  return {
    create: (requests) => batches.create({ requests: requests as BatchCreateParams['requests'] }, internal),
    retrieve: (batchId) => batches.retrieve(batchId, undefined, internal),
    results: (batchId) => batches.results(batchId, undefined, internal),
    cancel: (batchId) => batches.cancel(batchId, undefined, internal),
  };
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

let warnedUntestedSdk = false;

/** An SDK outside the tested range has every seam (or `checkSdk` would have thrown): say so, once. */
function warnUntestedSdkOnce(version: string, log: LogSink): void {
  if (warnedUntestedSdk) return;
  warnedUntestedSdk = true;
  log.log('warn', { sdkVersion: version, supported: SUPPORTED_SDK_RANGE }, `@anthropic-ai/sdk ${version} is outside the tested range ${SUPPORTED_SDK_RANGE}`);
}

/**
 * Probes with `countTokens` (free) on an interval. The timer holds the client only weakly: it neither
 * keeps the process alive nor a discarded client in memory (it stops once the client is collected).
 */
function startHealthProbe(client: ResilientClaude, health: HealthFacts, options: HealthProbeOptions): void {
  const model = options.model ?? 'claude-haiku-4-5';
  const target = new WeakRef(client);
  const probe = async (current: ResilientClaude) => {
    const started = performance.now();
    try {
      await current.messages.countTokens(
        { model, messages: [{ role: 'user', content: 'health probe' }] },
        callOptions({ tags: ['health-probe'] }, { maxRetries: 0 }),
      );
      health.probe = { ok: true, at: Date.now(), latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      health.probe = {
        ok: false,
        at: Date.now(),
        latencyMs: Math.round(performance.now() - started),
        errorClass: error instanceof Error ? error.name : 'Error',
      };
    }
  };
  const timer = setInterval(() => {
    const current = target.deref();
    if (current) void probe(current);
    else clearInterval(timer);
  }, options.intervalMs ?? 30_000);
  timer.unref?.();
  health.probeTimer = timer;
  void probe(client);
}
