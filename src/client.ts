import Anthropic, { type APIPromise } from '@anthropic-ai/sdk';
import type { AbstractPage, PagePromise } from '@anthropic-ai/sdk/core/pagination';
import { BreakerRegistry } from './breaker/breaker-registry';
import { callState, RETRY_BUDGET } from './call-state';
import { ConfigError } from './errors/config-error';
import { EventHub, type BreakerStateChangeEvent, type CallRecord, type ResilientClaudeEventName, type ResilientClaudeListener } from './events';
import { Redis } from 'ioredis';
import type { Registry, RegistryContentType } from 'prom-client';
import { CostTracker, disabledCostsView, type CostsView } from './costs';
import { ClientMetrics, type BudgetInput } from './metrics';
import { KeyPool, type ApiKeyInput } from './keys';
import { createSpanEnrichmentHook } from './telemetry';
import { resolveApiKeyLazily } from './security';
import { RateLimiter, RedisBucketStore } from './ratelimit';
import type { RateLimitOptions } from './layers/rate-limit';
import type { EventHub as Hub } from './events';
import type { LogSink } from './logging';
import { resolveLogging, type ResolvedLogging } from './logging';
import { resolveBreaker, resolveRetry, validateOptions, type ResilientClaudeOptions } from './options';
import { guardMessageEntryPoints } from './sanitize/entry-guard';
import { buildPipeline, type PipelineParts } from './pipeline';
import { composeLayers, createLayerContext } from './outer-chain';
import type { ClientOptions, FinalRequestOptions, Middleware, MiddlewareNext } from './sdk-types';
import type { HealthProbeOptions, HealthSnapshot, ProbeState } from './health';
import { callOptions, validateCallOptions } from './call-options';

/** Longest delay one timer can hold: the SDK's timer for attempts whose timeout the attempt layer enforces. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Marks the options `withOptions()` hands to a child: the parent's shared state and what was overridden. */
const INHERIT = Symbol.for('resilient-claude.inherit');

interface Inheritance {
  readonly shared: SharedState;
  readonly overrides: Partial<ResilientClaudeOptions>;
}

/**
 * State shared between a client and its `withOptions()` children: breakers, cost ledger and budgets,
 * listeners, logger, health facts. Layers are rebuilt per client from its options; state is not, unless
 * the child overrides the option that owns it.
 */
interface SharedState {
  readonly logging: ResolvedLogging;
  readonly events: EventHub;
  readonly breakers: BreakerRegistry | undefined;
  readonly costs: CostTracker | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly metrics: ClientMetrics | undefined;
  readonly keys: KeyPool | undefined;
  /** The Redis connection the client opened from a URL (closed by `close()`), if any. */
  readonly ownedRedis: Redis | undefined;
  readonly health: {
    lastError: { errorClass: string; at: number; status?: number } | undefined;
    inFlight: number;
    probe: ProbeState | undefined;
    probeTimer: ReturnType<typeof setInterval> | undefined;
  };
}

type RequestOptionsInput = Parameters<Anthropic['request']>[0];
type PageOptionsInput = Parameters<Anthropic['requestAPIList']>[1];

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown })?.then === 'function';
}

function overridden(inheritance: Inheritance | undefined, ...keys: (keyof ResilientClaudeOptions)[]): boolean {
  return inheritance === undefined || keys.some((key) => key in inheritance.overrides);
}

/**
 * A drop-in `Anthropic` client with retries that do the right thing, a circuit breaker, deadlines, cost
 * tracking and budgets, input checks, structured logs and events. Construct it exactly like
 * `new Anthropic(options)`: every SDK option, method, type and return value keeps working.
 *
 * The layers and their order are assembled in `src/pipeline.ts`:
 * - **per call**, where the SDK's own retry loop used to sit (around `fetchWithTimeout`, outside user
 *   middleware): sanitize → observe → budget → deadline → retry. The SDK's loop is kept from retrying
 *   on top (the per-call SDK `maxRetries` is 0, or 1 with token credentials so its one-shot refresh
 *   after a 401 still works): exactly one retry owner.
 * - **per HTTP request**, innermost, through the SDK's `backendMiddleware()` hook (inside user
 *   middleware, which keeps seeing every attempt as the SDK documents): breaker → streamGuard.
 */
export class ResilientClaude extends Anthropic {
  readonly #shared: SharedState;
  readonly #callLayers: readonly Middleware[];
  readonly #requestLayers: readonly Middleware[];
  readonly #apiKeyIsFunction: boolean;

  /** What the calls of this client (and its clones) cost; see `CostsView`. Always empty with `cost: false`. */
  readonly costs: CostsView;

  /** The API key pool (`apiKeys`): `snapshot()`, `restore(alias)`, `quarantine(alias)`. Undefined without one. */
  readonly keys: KeyPool | undefined;

  /** The prom-client registry holding the client's metrics. Undefined with `metrics: false`. */
  readonly metrics: Registry<RegistryContentType> | undefined;

  constructor(options: ResilientClaudeOptions = {}) {
    const inheritance = (options as Record<symbol, unknown>)[INHERIT] as Inheritance | undefined;
    validateOptions(options);
    const retries = reconcileRetries(options, inheritance === undefined);
    // The SDK's logLevel is known only after super(); the sink reads it late, per record.
    const level = { current: (): string => 'warn' };
    const logging = overridden(inheritance, 'logger')
      ? resolveLogging(options.logger, () => level.current())
      : inheritance!.shared.logging;

    // The SDK sees every option it knows, unchanged, plus internal keys withOptions() relies on.
    const sdkOptions: Record<string | symbol, unknown> = { ...options };
    if (logging.sdkLogger) sdkOptions.logger = logging.sdkLogger;
    else delete sdkOptions.logger;
    if (options.maxRetries === undefined && retries !== undefined) sdkOptions.maxRetries = retries;
    // With a key pool, the keys layer sets each attempt's key; the SDK still needs a credential to build
    // requests, so it gets the first key unless the caller gave one.
    const firstPooledKey = firstKey(options.apiKeys);
    if (firstPooledKey !== undefined && options.apiKey == null && options.authToken == null && !inheritance) {
      sdkOptions.apiKey = firstPooledKey;
    } else if (!inheritance && options.keyStore !== false && !hasCredential(options)) {
      const stored = storedKey(options.keyStore || {});
      if (stored) sdkOptions.apiKey = stored;
    }
    super(sdkOptions as ClientOptions);
    level.current = () => this.logLevel ?? 'warn';
    this.#apiKeyIsFunction = typeof options.apiKey === 'function';

    const parent = inheritance?.shared;
    const events =
      parent?.events ??
      new EventHub((event, error) =>
        logging.sink.log('error', { event, error: error instanceof Error ? error.message : String(error) }, 'event listener threw'),
      );
    const sink = logging.sink;
    // One Redis connection for everything shared (buckets, budgets, ledger).
    const newRedis = overridden(inheritance, 'redis');
    const ownedRedis = newRedis
      ? typeof options.redis === 'string'
        ? connectRedis(options.redis, sink)
        : undefined
      : parent!.ownedRedis;
    const redis = ownedRedis ?? (typeof options.redis === 'string' ? undefined : options.redis);
    const breakerConfig = resolveBreaker(options);
    const breakers = overridden(inheritance, 'circuitBreaker')
      ? breakerConfig.enabled
        ? new BreakerRegistry(breakerConfig, (event) => this.#onBreakerChange(event))
        : undefined
      : parent!.breakers;
    const costs = overridden(inheritance, 'cost', 'redis')
      ? options.cost === false
        ? undefined
        : new CostTracker(options.cost ?? {}, {
            events,
            log: sink,
            ...(redis ? { redis } : {}),
            ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
            ...(options.onRedisError ? { onRedisError: options.onRedisError } : {}),
          })
      : parent!.costs;
    const rateLimit = options.rateLimit ?? 'auto';
    const rateLimitOptions = rateLimit === 'auto' || rateLimit === false ? {} : rateLimit;
    const limiter = overridden(inheritance, 'rateLimit', 'redis')
      ? rateLimit === false
        ? undefined
        : createLimiter(rateLimitOptions, { events, log: sink, redis, prefix: options.redisPrefix, onRedisError: options.onRedisError })
      : parent!.limiter;
    const metrics = overridden(inheritance, 'metrics')
      ? options.metrics === false
        ? undefined
        : new ClientMetrics(options.metrics ?? {})
      : parent!.metrics;
    const keys = overridden(inheritance, 'apiKeys', 'keyStrategy', 'sharedLimits', 'quarantineMs')
      ? options.apiKeys
        ? new KeyPool({ ...options, apiKeys: options.apiKeys })
        : undefined
      : parent!.keys;
    const health = parent?.health ?? { lastError: undefined, inFlight: 0, probe: undefined, probeTimer: undefined };
    this.#shared = { logging, events, breakers, costs, limiter, metrics, keys, ownedRedis, health };
    this.keys = keys;
    this.costs = costs?.view() ?? disabledCostsView();
    this.metrics = metrics?.registry;
    if (metrics && (!parent || metrics !== parent.metrics)) {
      events.on('callComplete', (record) => metrics.onCallComplete(record));
      events.on('retry', (event) => metrics.onRetry(event));
      events.on('breakerStateChange', (event) => metrics.onBreakerStateChange(event));
      metrics.setCollectors({
        activeRequests: () => health.inFlight,
        ...(breakers ? { breakers: () => breakers.snapshot() } : {}),
        ...(limiter ? { rateLimit: () => limiter.snapshot() } : {}),
        ...(costs?.budget ? { budget: () => budgetInput(costs) } : {}),
      });
    }

    const parts: PipelineParts = {
      events,
      log: sink,
      retry: resolveRetry(options, this.maxRetries),
      deadline: options.deadline,
      sanitize: options.sanitize === false ? false : (options.sanitize ?? {}),
      route: options.route,
      fallbackModels: options.fallbackModels ?? [],
      costs,
      breakers,
      breakerConfig,
      limiter,
      keys,
      rateLimit: rateLimitOptions,
      // The span hook reads what the cost hook wrote: it comes after it.
      hooks: [...(costs ? [costs.hook] : []), createSpanEnrichmentHook({ breakerState: (scope) => breakers?.snapshot()[scope]?.state })],
      onStart: () => {
        health.inFlight++;
      },
      onRecord: (record) => this.#onRecord(record),
      statusError: (status, body, headers) => this.makeStatusError(status, body as object, undefined, headers),
    };
    const pipeline = buildPipeline(parts);
    this.#callLayers = pipeline.call;
    this.#requestLayers = pipeline.request;
    if (options.healthProbe && !health.probeTimer) this.#startProbe(options.healthProbe);
    if (parts.sanitize && parts.sanitize.validate !== false) {
      guardMessageEntryPoints(this.messages);
      guardMessageEntryPoints(this.beta.messages);
    }
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

  /**
   * A snapshot of the client's health, from real traffic: breakers and rate-limit scopes, the budget,
   * calls in flight, the last error, and readiness with reasons (every breaker open, budget exhausted).
   */
  health(): HealthSnapshot {
    const shared = this.#shared;
    const breakers = shared.breakers?.snapshot() ?? {};
    const budget = shared.costs?.budget?.state();
    const reasons: string[] = [];
    if (shared.breakers?.allOpen()) reasons.push('every circuit breaker is open');
    if (budget && (budget.remainingUsd <= 0 || shared.costs?.exhausted())) {
      reasons.push('the budget is exhausted until the window resets');
    }
    if (shared.keys && shared.keys.usableCount() === 0) reasons.push('every API key is quarantined');
    const probe = shared.health.probe;
    if (probe && !probe.ok) reasons.push(`the health probe failed (${probe.errorClass ?? 'error'})`);
    const lastError = shared.health.lastError;
    return {
      ready: reasons.length === 0,
      reasons,
      inFlight: shared.health.inFlight,
      breakers,
      rateLimit: shared.limiter?.snapshot() ?? {},
      ...(budget ? { budget } : {}),
      ...(shared.keys ? { keys: shared.keys.snapshot() } : {}),
      ...(probe ? { probe } : {}),
      ...(lastError ? { lastError: { ...lastError } } : {}),
    };
  }

  /**
   * Releases what the client holds: breaker timers, Redis connections it opened. Call at shutdown (or at
   * the end of a test). Clones share these with their parent: close the parent, once.
   */
  async close(): Promise<void> {
    const shared = this.#shared;
    if (shared.health.probeTimer) clearInterval(shared.health.probeTimer);
    shared.health.probeTimer = undefined;
    shared.breakers?.shutdown();
    await Promise.all([shared.costs?.close(), shared.limiter?.close()]);
    shared.metrics?.unregister();
    if (shared.ownedRedis) await shared.ownedRedis.quit().catch(() => shared.ownedRedis?.disconnect());
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
    // One SDK pass of the call. A second pass only happens for the SDK's 401 token refresh; if the first
    // pass ended in an error the SDK would retry, the error is replayed rather than retried again.
    state.sdkPasses++;
    state.sdkWillRetry = false;
    if (state.finalThrown) throw state.finalThrown.error;
    if (state.sdkPasses === 1) validateCallOptions(state.call);
    // When the call may be retried (and our attempt layer is in place), the attempt layer enforces the
    // timeout on each attempt's own controller, and the SDK gets a timer that never fires: its per-call
    // controller must not be left aborted by a timeout, since later attempts and MessageStream read it.
    state.attemptTimeoutMs = state.retryBudget > 0 && this.#ownsAttempts() ? ms : undefined;
    const attemptMs = state.attemptTimeoutMs === undefined ? ms : MAX_TIMER_MS;
    let sent = 0;
    const send: MiddlewareNext = async ({ url: target, ...attemptInit }) => {
      sent++;
      // The first attempt hands the SDK its init untouched (its signal follows the caller's). Later ones
      // leave the caller's signal out: the SDK's listener from the first attempt already links it to the
      // controller, and a second one would never be released.
      if (sent > 1) attemptInit = { ...attemptInit, signal: undefined };
      // Without per-attempt controllers, the deadline must reach the SDK's.
      const deadline = state.attemptTimeoutMs === undefined ? state.deadlineSignal : undefined;
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

  /** Probes with `countTokens` (free) on an interval; the timer does not keep the process alive. */
  #startProbe(options: HealthProbeOptions): void {
    const health = this.#shared.health;
    const model = options.model ?? 'claude-haiku-4-5';
    const probe = async () => {
      const started = performance.now();
      try {
        await this.messages.countTokens(
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
    health.probeTimer = setInterval(() => void probe(), options.intervalMs ?? 30_000);
    health.probeTimer.unref?.();
    void probe();
  }

  #onBreakerChange(event: BreakerStateChangeEvent): void {
    const sink = this.#shared.logging.sink;
    const message = `circuit breaker ${event.scope}: ${event.from} -> ${event.to}`;
    sink.log(event.to === 'closed' ? 'info' : 'warn', { ...event }, message);
    this.#shared.events.emit('breakerStateChange', event);
  }

  #onRecord(record: CallRecord): void {
    this.#shared.health.inFlight = Math.max(0, this.#shared.health.inFlight - 1);
    if (!record.ok && record.errorClass) {
      this.#shared.health.lastError = {
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

/** Opens the client's own Redis connection from a URL (fails fast rather than queueing while down). */
function connectRedis(url: string, log: LogSink): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
  // Without a listener ioredis prints every connection error to stderr itself. The stores report outages
  // (events, health); here one line per outage is enough.
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.log('warn', { error: error.message }, 'Redis connection error');
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}

/** Builds the rate limiter from the `rateLimit` option. */
function createLimiter(
  options: RateLimitOptions,
  deps: { events: Hub; log: LogSink; redis: Redis | undefined; prefix: string | undefined; onRedisError: 'local' | 'fail' | undefined },
): RateLimiter {
  const { events, log } = deps;
  const explicit = options.rpm !== undefined || options.itpm !== undefined || options.otpm !== undefined;
  return new RateLimiter({
    mode: explicit ? 'explicit' : 'auto',
    limits: {
      ...(options.rpm !== undefined ? { rpm: options.rpm } : {}),
      ...(options.itpm !== undefined ? { itpm: options.itpm } : {}),
      ...(options.otpm !== undefined ? { otpm: options.otpm } : {}),
    },
    ...(options.maxConcurrent !== undefined ? { maxConcurrent: options.maxConcurrent } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.startupConcurrency !== undefined ? { startupConcurrency: options.startupConcurrency } : {}),
    ...(deps.redis ? { store: new RedisBucketStore(deps.redis, { keyPrefix: `${deps.prefix ?? 'rc:'}rl:` }) } : {}),
    onRedisError: deps.onRedisError ?? 'local',
    onEvent: (event) => {
      switch (event.type) {
        case 'rateLimited':
          log.log('debug', { ...event }, 'waiting for rate-limit capacity');
          events.emit('rateLimited', { scope: event.scope, dimension: event.dimension, waitMs: event.waitMs });
          return;
        case 'paused':
          log.log('warn', { scope: event.scope, untilMs: event.untilMs }, 'rate limit reached: scope paused until retry-after');
          return;
        case 'limitsLearned':
          log.log('debug', { scope: event.scope, limits: event.limits }, 'rate limits learned from response headers');
          return;
        case 'redisError':
          log.log('warn', { component: 'rateLimit', error: event.message }, 'Redis unreachable: rate limits fall back to this process');
          events.emit('redisError', { component: 'rateLimit', message: event.message });
          return;
        case 'redisRecovered':
          log.log('info', { component: 'rateLimit' }, 'Redis answers again: rate limits are shared again');
          events.emit('redisRecovered', { component: 'rateLimit' });
          return;
      }
    },
  });
}

/** The budget figures the metrics need. */
function budgetInput(costs: CostTracker): BudgetInput | undefined {
  const state = costs.budget?.state();
  return state ? { remainingUsd: state.remainingUsd, limitUsd: state.limitUsd } : undefined;
}

const CREDENTIAL_OPTIONS = ['apiKey', 'authToken', 'credentials', 'config', 'profile'] as const;
const CREDENTIAL_ENV = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_PROFILE',
  'ANTHROPIC_IDENTITY_TOKEN',
  'ANTHROPIC_IDENTITY_TOKEN_FILE',
] as const;

/** Whether the caller or the environment supplies a credential the SDK will use (ours must not interfere). */
function hasCredential(options: ResilientClaudeOptions): boolean {
  const given = options as Record<string, unknown>;
  return CREDENTIAL_OPTIONS.some((name) => name in given) || CREDENTIAL_ENV.some((name) => !!process.env[name]);
}

/**
 * The key from the OS keyring or the encrypted key file, if either holds one: the key itself, or (for a
 * passphrase-protected file) an async function the SDK calls per request, which decrypts once.
 */
function storedKey(store: { keyFile?: string | false; keyring?: boolean }): string | (() => Promise<string>) | undefined {
  const found = resolveApiKeyLazily({
    ...(store.keyFile !== undefined ? { keyFile: store.keyFile } : {}),
    ...(store.keyring === false ? { keyring: false } : {}),
  });
  if (!found || (found.source !== 'keyring' && found.source !== 'file')) return undefined;
  return found.key ?? found.getKey;
}

/** The text of the first pooled key, if any. */
function firstKey(keys: readonly ApiKeyInput[] | undefined): string | undefined {
  const first = keys?.[0];
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.key;
}
