/**
 * Prometheus metrics of a `ResilientClaude` client (prom-client).
 *
 * A {@link ClientMetrics} is fed by plain method calls — the client forwards its `callComplete`, `retry`
 * and `breakerStateChange` events to {@link ClientMetrics.onCallComplete}, {@link ClientMetrics.onRetry} and
 * {@link ClientMetrics.onBreakerStateChange} — and reads live state (in-flight calls, breakers, rate-limit
 * buckets, budget) at scrape time through {@link MetricsCollectors}, so gauges are never stale.
 * With `metrics: false` the client constructs none of this: zero cost.
 *
 * Series (names with the default prefix `anthropic_`):
 *
 * | Series | Type | Labels | Meaning |
 * |--------|------|--------|---------|
 * | `anthropic_requests_total` | counter | `model`, `status` | Logical calls by final HTTP status; `status` is the error class when no response arrived (e.g. `CircuitOpenError`, `APIConnectionError`) |
 * | `anthropic_calls_total` | counter | `model`, `outcome` | Logical calls by {@link CallOutcomeClass}: `success`, `client_error`, `rate_limited`, `server_error`, `connection`, `local`, `cancelled` |
 * | `anthropic_request_latency_seconds` | histogram | `model` | Wall time of a logical call, all attempts, backoff and queueing included (streams: until the end of the stream); batched calls are not in it |
 * | `anthropic_batch_latency_seconds` | histogram | `model` | Wall time of a `batch: true` call, from the call to its answer (buckets of minutes to a day) |
 * | `anthropic_attempts_total` | counter | `model`, `outcome` | HTTP attempts per call (`CallRecord.attempts`), summed; `outcome` is the call's outcome |
 * | `anthropic_retries_total` | counter | `model`, `reason` | Retries scheduled, by {@link FailureReason} of the failed attempt |
 * | `anthropic_tokens_total` | counter | `model`, `type` | Tokens of completed calls; `type` ∈ `input`, `output`, `cache_read`, `cache_write` |
 * | `anthropic_cost_usd_total` | counter | `model` | Cost of completed calls in USD, when the cost layer priced them |
 * | `anthropic_ratelimit_wait_seconds` | histogram | `model` | Time each call waited for rate-limit capacity (0 for calls that did not wait; bucket `le="0"` counts those) |
 * | `anthropic_key_calls_total` | counter | `key_alias`, `outcome` | Calls by API-key alias, only for records whose `notes.keyAlias` is a string |
 * | `anthropic_breaker_transitions_total` | counter | `scope`, `to` | Circuit-breaker state changes; `to` ∈ `closed`, `half_open`, `open` |
 * | `anthropic_active_requests` | gauge | — | Logical calls in flight (collector `activeRequests`; absent without it) |
 * | `anthropic_batch_pending_calls` | gauge | — | `batch: true` calls gathered or waiting in a batch (collector `batchPending`; absent without it) |
 * | `anthropic_breaker_state` | gauge | `scope` | 0 closed, 1 half-open, 2 open (collector `breakers`; without it, the last state seen in events) |
 * | `anthropic_ratelimit_queue_depth` | gauge | `scope` | Calls waiting for rate-limit capacity (collector `rateLimit`) |
 * | `anthropic_ratelimit_remaining` | gauge | `scope`, `dimension` | Capacity available now; may be negative (debt); `dimension` ∈ `requests`, `input_tokens`, `output_tokens`; dimensions with no finite capacity are omitted |
 * | `anthropic_ratelimit_capacity` | gauge | `scope`, `dimension` | Bucket capacity of the same dimensions |
 * | `anthropic_budget_remaining_usd` | gauge | — | Budget left (collector `budget`; absent when it reports no budget) |
 * | `anthropic_budget_limit_usd` | gauge | — | The budget's limit (same condition) |
 * | `anthropic_metrics_collector_errors_total` | counter | `collector` | Scrapes where a collector callback threw (that gauge then has no samples for the scrape) |
 *
 * Label bounds — no series grows with traffic:
 * - `model` is the requested model (`params.model`, falling back to the response model, else `none`); at
 *   most {@link DEFAULT_LABEL_LIMITS}`.models` (50) distinct values, later ones become `other`.
 * - `scope` (breakers and rate limiter): at most `scopes` (50) values, then `other`. Breaker state folds
 *   overflow scopes into `other` as the worst state; queue depth sums them; remaining/capacity omit them.
 * - `key_alias`: at most `keyAliases` (20) values, then `other`.
 * - `status`: HTTP statuses (integers 100–599) as is; error-class names at most `errorClasses` (30), then
 *   `other`.
 * - `outcome`, `reason`, `type`, `to`, `dimension`, `collector`: fixed sets.
 * - Never labels: user ids (`CallRecord.user`), request ids, call ids, tags, API keys. Any label value that
 *   looks like an `sk-…` key is reported as `redacted`.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { ConfigError } from '../errors/config-error';
import type { BreakerState, BreakerStateChangeEvent, CallRecord, RetryEvent } from '../events';
import type { FailureReason } from '../classify';
import { BoundedLabel, OVERFLOW_LABEL, callOutcome, type CallOutcomeClass } from './labels';

/** Default metric name prefix. */
export const DEFAULT_PREFIX = 'anthropic_';

/**
 * Default buckets of `anthropic_request_latency_seconds`, in seconds: model calls range from sub-second
 * to minutes-long streams.
 */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/** Buckets of `anthropic_batch_latency_seconds`, in seconds: 10 s to a day (batches end within 24 h). */
const BATCH_LATENCY_BUCKETS = [10, 60, 300, 900, 1_800, 3_600, 7_200, 14_400, 43_200, 86_400];

/**
 * Default buckets of `anthropic_ratelimit_wait_seconds`, in seconds. The first bucket is `0`, so
 * `…_bucket{le="0"}` counts the calls that did not wait at all.
 */
export const DEFAULT_WAIT_BUCKETS: readonly number[] = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Caps on distinct label values (see the module description). */
export interface LabelLimits {
  /** Distinct `model` values. Default 50. */
  readonly models?: number;
  /** Distinct `scope` values (breakers, rate limiter). Default 50. */
  readonly scopes?: number;
  /** Distinct `key_alias` values. Default 20. */
  readonly keyAliases?: number;
  /** Distinct non-numeric `status` values (error-class names). Default 30. */
  readonly errorClasses?: number;
}

/** The default {@link LabelLimits}. */
export const DEFAULT_LABEL_LIMITS: Readonly<Required<LabelLimits>> = {
  models: 50,
  scopes: 50,
  keyAliases: 20,
  errorClasses: 30,
};

/** Options of {@link ClientMetrics}. All optional. */
export interface ClientMetricsOptions {
  /**
   * Registry to register the series in. Default: a new `Registry` owned by this instance — never
   * prom-client's global `register` unless you pass it. Each registry can hold one `ClientMetrics` per
   * prefix; a second one with the same prefix throws `ConfigError`.
   */
  readonly registry?: Registry<RegistryContentType>;
  /** Prefix of every series name. Default `'anthropic_'` ({@link DEFAULT_PREFIX}). */
  readonly prefix?: string;
  /** Latency histogram buckets, seconds. Default {@link DEFAULT_LATENCY_BUCKETS}. */
  readonly buckets?: readonly number[];
  /** Rate-limit wait histogram buckets, seconds. Default {@link DEFAULT_WAIT_BUCKETS}. */
  readonly waitBuckets?: readonly number[];
  /** Caps on distinct label values. Default {@link DEFAULT_LABEL_LIMITS}. */
  readonly labelLimits?: LabelLimits;
}

/** Rate-limit dimensions, as named by the limiter. */
export type RateLimitDimensionName = 'requests' | 'inputTokens' | 'outputTokens';

/** One circuit breaker, as {@link MetricsCollectors.breakers} reports it. `BreakerSnapshot` fits. */
export interface BreakerStateInput {
  readonly state: BreakerState;
}

/** One rate-limit bucket. The limiter's `DimensionSnapshot` fits. */
export interface RateLimitDimensionInput {
  /** Capacity available now (may be negative). */
  readonly available: number;
  /** Bucket capacity; a non-finite value means "not accounted" and the dimension is not reported. */
  readonly capacity: number;
}

/** One rate-limit scope. The limiter's `ScopeSnapshot` fits. */
export interface RateLimitScopeInput {
  /** Calls waiting for capacity. */
  readonly queueDepth: number;
  /** Buckets by dimension; missing dimensions are not reported. */
  readonly dimensions: Readonly<Partial<Record<RateLimitDimensionName, RateLimitDimensionInput>>>;
}

/** Budget state for {@link MetricsCollectors.budget}. */
export interface BudgetInput {
  readonly remainingUsd: number;
  readonly limitUsd: number;
}

/**
 * Callbacks read at scrape time. Each is optional; a gauge whose collector is missing has no samples
 * (except `breaker_state`, which then shows the last state seen in `breakerStateChange` events). A
 * collector that throws is counted in `anthropic_metrics_collector_errors_total` and its gauges have no
 * samples for that scrape.
 */
export interface MetricsCollectors {
  /** Logical calls in flight. */
  readonly activeRequests?: () => number;
  /** `batch: true` calls waiting: gathered, or in a batch being watched. */
  readonly batchPending?: () => number;
  /** Circuit breakers by scope (e.g. `() => breakers.snapshot()`). */
  readonly breakers?: () => Readonly<Record<string, BreakerStateInput>>;
  /** Rate-limit scopes (e.g. `() => limiter.snapshot()`). */
  readonly rateLimit?: () => Readonly<Record<string, RateLimitScopeInput>>;
  /** Budget, or `undefined` when no budget is configured. */
  readonly budget?: () => BudgetInput | undefined;
}

type CollectorName = keyof MetricsCollectors;
type CollectorValue<K extends CollectorName> = ReturnType<NonNullable<MetricsCollectors[K]>>;

const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, halfOpen: 1, open: 2 };
const BREAKER_STATE_LABEL: Readonly<Record<BreakerState, string>> = { closed: 'closed', halfOpen: 'half_open', open: 'open' };
const DIMENSION_LABEL: Readonly<Record<RateLimitDimensionName, string>> = {
  requests: 'requests',
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
};
const DIMENSIONS = Object.keys(DIMENSION_LABEL) as RateLimitDimensionName[];
const PREFIX_PATTERN = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** A label-less gauge that can report "no value" (no sample) instead of prom-client's implicit 0. */
class OptionalGauge extends Gauge {
  present = false;

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return this.present ? metric : { ...metric, values: [] };
  }
}

function finiteNonNegative(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function checkBuckets(option: string, buckets: readonly number[], allowZero: boolean): number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) throw new ConfigError(option, 'a non-empty array of numbers');
  for (const b of buckets) {
    if (typeof b !== 'number' || !Number.isFinite(b) || b < 0 || (!allowZero && b === 0)) {
      throw new ConfigError(option, allowZero ? 'finite numbers ≥ 0' : 'finite numbers > 0', `got ${String(b)}`);
    }
  }
  return [...new Set(buckets)].sort((a, b) => a - b);
}

function checkLimit(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(option, 'a non-negative integer', `got ${String(value)}`);
  return value;
}

/**
 * The client's Prometheus series, in its own registry (see the module description for the table of
 * series and label bounds).
 *
 * @example
 * ```ts
 * const metrics = new ClientMetrics();
 * client.on('callComplete', (r) => metrics.onCallComplete(r));
 * client.on('retry', (e) => metrics.onRetry(e));
 * client.on('breakerStateChange', (e) => metrics.onBreakerStateChange(e));
 * metrics.setCollectors({ breakers: () => client.health().breakers });
 * const text = await metrics.registry.metrics();
 * ```
 */
export class ClientMetrics {
  /** The registry holding every series of this instance. */
  readonly registry: Registry<RegistryContentType>;
  /** The prefix in use. */
  readonly prefix: string;

  readonly #models: BoundedLabel;
  readonly #scopes: BoundedLabel;
  readonly #keyAliases: BoundedLabel;
  readonly #errorClasses: BoundedLabel;
  readonly #collectors: { -readonly [K in CollectorName]?: MetricsCollectors[K] } = {};
  /** Last breaker state seen per (bounded) scope, used when no `breakers` collector is set. */
  readonly #breakerStates = new Map<string, BreakerState>();
  readonly #names: string[] = [];
  readonly #scrapeCache = new Map<CollectorName, { readonly value: unknown }>();

  readonly #requests: Counter<'model' | 'status'>;
  readonly #calls: Counter<'model' | 'outcome'>;
  readonly #latency: Histogram<'model'>;
  readonly #batchLatency: Histogram<'model'>;
  readonly #attempts: Counter<'model' | 'outcome'>;
  readonly #retries: Counter<'model' | 'reason'>;
  readonly #tokens: Counter<'model' | 'type'>;
  readonly #cost: Counter<'model'>;
  readonly #wait: Histogram<'model'>;
  readonly #keyCalls: Counter<'key_alias' | 'outcome'>;
  readonly #transitions: Counter<'scope' | 'to'>;
  readonly #collectorErrors: Counter<'collector'>;

  constructor(options: ClientMetricsOptions = {}) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
      throw new ConfigError('metrics.prefix', 'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', `got ${String(prefix)}`);
    }
    const latencyBuckets = checkBuckets('metrics.buckets', options.buckets ?? DEFAULT_LATENCY_BUCKETS, false);
    const waitBuckets = checkBuckets('metrics.waitBuckets', options.waitBuckets ?? DEFAULT_WAIT_BUCKETS, true);
    const limits = options.labelLimits ?? {};
    this.#models = new BoundedLabel(checkLimit('metrics.labelLimits.models', limits.models, DEFAULT_LABEL_LIMITS.models));
    this.#scopes = new BoundedLabel(checkLimit('metrics.labelLimits.scopes', limits.scopes, DEFAULT_LABEL_LIMITS.scopes));
    this.#keyAliases = new BoundedLabel(
      checkLimit('metrics.labelLimits.keyAliases', limits.keyAliases, DEFAULT_LABEL_LIMITS.keyAliases),
    );
    this.#errorClasses = new BoundedLabel(
      checkLimit('metrics.labelLimits.errorClasses', limits.errorClasses, DEFAULT_LABEL_LIMITS.errorClasses),
    );
    this.prefix = prefix;
    const registry: Registry<RegistryContentType> = options.registry ?? new Registry();
    this.registry = registry;

    const names = [
      'requests_total',
      'calls_total',
      'request_latency_seconds',
      'batch_latency_seconds',
      'attempts_total',
      'retries_total',
      'tokens_total',
      'cost_usd_total',
      'ratelimit_wait_seconds',
      'key_calls_total',
      'breaker_transitions_total',
      'metrics_collector_errors_total',
      'active_requests',
      'batch_pending_calls',
      'breaker_state',
      'ratelimit_queue_depth',
      'ratelimit_remaining',
      'ratelimit_capacity',
      'budget_remaining_usd',
      'budget_limit_usd',
    ].map((n) => prefix + n);
    const taken = names.find((n) => registry.getSingleMetric(n) !== undefined);
    if (taken !== undefined) {
      throw new ConfigError('metrics.prefix', 'a prefix not yet used in this registry', `${taken} is already registered`);
    }
    this.#names = names;
    const registers = [registry];
    const name = (n: string) => prefix + n;

    this.#requests = new Counter({
      name: name('requests_total'),
      help: 'Logical Anthropic calls by model and final HTTP status (or error class when no response arrived).',
      labelNames: ['model', 'status'] as const,
      registers,
    });
    this.#calls = new Counter({
      name: name('calls_total'),
      help: 'Logical Anthropic calls by model and outcome class.',
      labelNames: ['model', 'outcome'] as const,
      registers,
    });
    this.#latency = new Histogram({
      name: name('request_latency_seconds'),
      help: 'Wall time of logical Anthropic calls (all attempts, backoff and queueing), seconds.',
      labelNames: ['model'] as const,
      buckets: latencyBuckets,
      registers,
    });
    this.#batchLatency = new Histogram({
      name: name('batch_latency_seconds'),
      help: 'Wall time of batched Anthropic calls (batch: true), from the call to its answer, seconds.',
      labelNames: ['model'] as const,
      buckets: BATCH_LATENCY_BUCKETS,
      registers,
    });
    this.#attempts = new Counter({
      name: name('attempts_total'),
      help: 'HTTP attempts made by logical calls, by model and call outcome.',
      labelNames: ['model', 'outcome'] as const,
      registers,
    });
    this.#retries = new Counter({
      name: name('retries_total'),
      help: 'Retries scheduled, by model and failure reason of the failed attempt.',
      labelNames: ['model', 'reason'] as const,
      registers,
    });
    this.#tokens = new Counter({
      name: name('tokens_total'),
      help: 'Tokens of completed calls by model and type (input, output, cache_read, cache_write).',
      labelNames: ['model', 'type'] as const,
      registers,
    });
    this.#cost = new Counter({
      name: name('cost_usd_total'),
      help: 'Cost of completed calls in USD, by model.',
      labelNames: ['model'] as const,
      registers,
    });
    this.#wait = new Histogram({
      name: name('ratelimit_wait_seconds'),
      help: 'Time calls waited for rate-limit capacity, seconds.',
      labelNames: ['model'] as const,
      buckets: waitBuckets,
      registers,
    });
    this.#keyCalls = new Counter({
      name: name('key_calls_total'),
      help: 'Logical calls by API key alias and outcome class.',
      labelNames: ['key_alias', 'outcome'] as const,
      registers,
    });
    this.#transitions = new Counter({
      name: name('breaker_transitions_total'),
      help: 'Circuit breaker state changes by scope and new state.',
      labelNames: ['scope', 'to'] as const,
      registers,
    });
    // One number read at scrape time; no samples when its collector is missing or gives no number.
    const countGauge = (suffix: string, help: string, collector: 'activeRequests' | 'batchPending'): void => {
      const gauge: OptionalGauge = new OptionalGauge({
        name: name(suffix),
        help,
        registers,
        collect: () => {
          const value = this.#read(collector);
          gauge.present = typeof value === 'number' && Number.isFinite(value);
          if (typeof value === 'number' && gauge.present) gauge.set(value);
        },
      });
    };
    countGauge('active_requests', 'Logical Anthropic calls in flight.', 'activeRequests');
    countGauge('batch_pending_calls', 'batch: true calls gathered or waiting in a Message Batch.', 'batchPending');
    const breakerState: Gauge<'scope'> = new Gauge({
      name: name('breaker_state'),
      help: 'Circuit breaker state by scope: 0 closed, 1 half-open, 2 open.',
      labelNames: ['scope'] as const,
      registers,
      collect: () => {
        breakerState.reset();
        let states: ReadonlyMap<string, BreakerState> = this.#breakerStates;
        if (this.#collectors.breakers) {
          const snapshot = this.#read('breakers');
          if (snapshot === undefined) return;
          const folded = new Map<string, BreakerState>();
          for (const [scope, breaker] of Object.entries(snapshot)) {
            const label = this.#scopes.value(scope);
            const prev = folded.get(label);
            if (prev === undefined || BREAKER_STATE_VALUE[breaker.state] > BREAKER_STATE_VALUE[prev]) folded.set(label, breaker.state);
          }
          states = folded;
        }
        for (const [scope, state] of states) breakerState.set({ scope }, BREAKER_STATE_VALUE[state]);
      },
    });
    const queueDepth: Gauge<'scope'> = new Gauge({
      name: name('ratelimit_queue_depth'),
      help: 'Calls waiting for rate-limit capacity, by scope.',
      labelNames: ['scope'] as const,
      registers,
      collect: () => {
        queueDepth.reset();
        const scopes = this.#read('rateLimit');
        if (!scopes) return;
        const depths = new Map<string, number>();
        for (const [scope, s] of Object.entries(scopes)) {
          if (!finiteNonNegative(s.queueDepth)) continue;
          const label = this.#scopes.value(scope);
          depths.set(label, (depths.get(label) ?? 0) + s.queueDepth);
        }
        for (const [scope, depth] of depths) queueDepth.set({ scope }, depth);
      },
    });
    const dimensionGauge = (suffix: string, help: string, pick: (d: RateLimitDimensionInput) => number): void => {
      const gauge: Gauge<'scope' | 'dimension'> = new Gauge({
        name: name(suffix),
        help,
        labelNames: ['scope', 'dimension'] as const,
        registers,
        collect: () => {
          gauge.reset();
          const scopes = this.#read('rateLimit');
          if (!scopes) return;
          for (const [scope, s] of Object.entries(scopes)) {
            const label = this.#scopes.value(scope);
            if (label === OVERFLOW_LABEL) continue;
            for (const dim of DIMENSIONS) {
              const d = s.dimensions[dim];
              if (!d || !Number.isFinite(d.capacity) || !Number.isFinite(pick(d))) continue;
              gauge.set({ scope: label, dimension: DIMENSION_LABEL[dim] }, pick(d));
            }
          }
        },
      });
    };
    dimensionGauge('ratelimit_remaining', 'Rate-limit capacity available now, by scope and dimension.', (d) => d.available);
    dimensionGauge('ratelimit_capacity', 'Rate-limit bucket capacity, by scope and dimension.', (d) => d.capacity);
    const budgetGauge = (suffix: string, help: string, pick: (b: BudgetInput) => number): void => {
      const gauge: OptionalGauge = new OptionalGauge({
        name: name(suffix),
        help,
        registers,
        collect: () => {
          const budget = this.#read('budget');
          const value = budget === undefined ? undefined : pick(budget);
          gauge.present = typeof value === 'number' && Number.isFinite(value);
          if (typeof value === 'number' && gauge.present) gauge.set(value);
        },
      });
    };
    budgetGauge('budget_remaining_usd', 'Budget left, USD.', (b) => b.remainingUsd);
    budgetGauge('budget_limit_usd', 'Budget limit, USD.', (b) => b.limitUsd);
    // Registered last, so a collector failure shows in the same scrape.
    this.#collectorErrors = new Counter({
      name: name('metrics_collector_errors_total'),
      help: 'Scrapes where a metrics collector callback threw.',
      labelNames: ['collector'] as const,
      registers,
    });
  }

  /**
   * Sets the scrape-time callbacks. Keys present in `collectors` replace the previous callback (a key
   * set to `undefined` removes it); keys left out keep theirs.
   */
  setCollectors(collectors: MetricsCollectors): void {
    for (const key of Object.keys(collectors) as CollectorName[]) {
      const value = collectors[key];
      if (value === undefined) delete this.#collectors[key];
      else (this.#collectors as Record<CollectorName, unknown>)[key] = value;
    }
  }

  /** Records one completed logical call (the `callComplete` event). Never reads `user` or ids. */
  onCallComplete(record: CallRecord): void {
    const model = this.#modelLabel(record.model ?? record.responseModel);
    const outcome: CallOutcomeClass = callOutcome(record);
    this.#requests.inc({ model, status: this.#statusLabel(record) });
    this.#calls.inc({ model, outcome });
    // A batched call waits minutes to hours by design: in the interactive histogram it would drown the
    // latency users feel.
    if (finiteNonNegative(record.latencyMs)) (record.batched ? this.#batchLatency : this.#latency).observe({ model }, record.latencyMs / 1000);
    if (finiteNonNegative(record.attempts) && record.attempts > 0) this.#attempts.inc({ model, outcome }, record.attempts);
    if (finiteNonNegative(record.rateLimitWaitMs)) this.#wait.observe({ model }, record.rateLimitWaitMs / 1000);
    const tokens = record.tokens;
    if (tokens) {
      if (finiteNonNegative(tokens.input)) this.#tokens.inc({ model, type: 'input' }, tokens.input);
      if (finiteNonNegative(tokens.output)) this.#tokens.inc({ model, type: 'output' }, tokens.output);
      if (finiteNonNegative(tokens.cacheRead)) this.#tokens.inc({ model, type: 'cache_read' }, tokens.cacheRead);
      if (finiteNonNegative(tokens.cacheWrite)) this.#tokens.inc({ model, type: 'cache_write' }, tokens.cacheWrite);
    }
    if (finiteNonNegative(record.costUsd)) this.#cost.inc({ model }, record.costUsd);
    const alias = record.notes?.keyAlias;
    if (typeof alias === 'string') this.#keyCalls.inc({ key_alias: this.#keyAliases.value(alias), outcome });
  }

  /** Records one scheduled retry (the `retry` event). */
  onRetry(event: RetryEvent): void {
    const reason: FailureReason = event.reason;
    this.#retries.inc({ model: this.#modelLabel(event.model), reason });
  }

  /** Records a circuit-breaker state change (the `breakerStateChange` event). */
  onBreakerStateChange(event: BreakerStateChangeEvent): void {
    const scope = this.#scopes.value(event.scope);
    this.#transitions.inc({ scope, to: BREAKER_STATE_LABEL[event.to] });
    this.#breakerStates.set(scope, event.to);
  }

  /** Removes this instance's series from its registry (e.g. when a client sharing a registry closes). */
  unregister(): void {
    for (const n of this.#names) this.registry.removeSingleMetric(n);
  }

  #modelLabel(model: string | undefined): string {
    return this.#models.value(model);
  }

  #statusLabel(record: CallRecord): string {
    const status = record.status;
    if (status !== undefined && Number.isInteger(status) && status >= 100 && status <= 599) return String(status);
    if (status !== undefined) return OVERFLOW_LABEL;
    return this.#errorClasses.value(record.errorClass);
  }

  /**
   * Calls a collector once per scrape: prom-client starts every metric's `get()` synchronously within one
   * `registry.metrics()` call, so results are cached until the next microtask. Gauges fed by the same
   * collector thus show one consistent snapshot, and a throwing collector is counted once per scrape.
   */
  #read<K extends CollectorName>(collector: K): CollectorValue<K> | undefined {
    const cached = this.#scrapeCache.get(collector);
    if (cached) return cached.value as CollectorValue<K> | undefined;
    if (this.#scrapeCache.size === 0) queueMicrotask(() => this.#scrapeCache.clear());
    const read = this.#collectors[collector] as (() => CollectorValue<K>) | undefined;
    let value: CollectorValue<K> | undefined;
    try {
      value = read?.();
    } catch {
      this.#collectorErrors.inc({ collector });
      value = undefined;
    }
    this.#scrapeCache.set(collector, { value });
    return value;
  }

}
