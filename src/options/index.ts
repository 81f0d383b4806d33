import type { Logger as PinoLogger, LoggerOptions as PinoLoggerOptions } from 'pino';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { CostOptions } from './cost-options';
import { validateKeyPoolOptions, type ApiKeysOptions } from '../keys';
import { ConfigError } from '../errors/config-error';
import type { RateLimitOptions } from './rate-limit-options';
import type { SanitizeOptions } from './sanitize-options';
import type { ClientMetricsOptions } from '../metrics';
import type { HealthProbeOptions } from './health-probe-options';
import type { BatchOptions } from './batch-options';
import type { RouteFunction } from '../routing/simple-task-router';
import type { ClientOptions, SdkLogger } from '../sdk-types';
import type { CircuitBreakerConfig } from '../breaker/circuit-breaker';
import { MAX_TIMER_MS } from '../util/timers';

/**
 * Retry policy. One retry owner: this layer. The SDK's own retry loop is kept from retrying on top
 * (attempts would multiply), while its one-shot token refresh after a 401 keeps working.
 */
export interface RetryOptions {
  /** Retries after the first attempt. Same meaning as the SDK's `maxRetries`. Default 2 (3 attempts). */
  retries?: number;
  /** Backoff base: the first retry sleeps up to this long. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap of the exponential backoff (before jitter). Default 8000 ms. */
  maxDelayMs?: number;
  /**
   * Longest server hint (`retry-after-ms` / `retry-after`) the call will wait for. A longer hint fails the
   * call at once with the server's own error rather than sleeping. Default 60000 ms.
   */
  maxRetryAfterMs?: number;
  /** Full jitter (`random(0, backoff)`) on computed backoff. Default true; false gives the exact backoff. */
  jitter?: boolean;
  /**
   * For streams: how long to wait, once the reader starts reading, for the first content before the
   * attempt counts as stalled and is retried (the stream resumes from the new attempt). The SDK's
   * `timeout` only covers the wait for response headers. Default: no limit.
   */
  firstContentTimeoutMs?: number;
}

/** How calls are grouped into circuit breakers. */
export type BreakerScope = 'client' | 'model';

/**
 * Circuit breaker settings. Only health failures count: 5xx and 529 responses, connection failures,
 * attempt timeouts, streams that fail before their first content. Defaults open it within ~18 attempts of
 * a dead service, never on scattered faults, and probe recovery every 0.5–2 s.
 */
export interface BreakerOptions {
  /** Share of health failures among the recent attempts at which the breaker opens, in (0, 1]. Default 0.9. */
  failureRatio?: number;
  /** How many of the most recent attempts the ratio is taken over. Default 20. */
  sampleSize?: number;
  /** Fewest recent attempts before the breaker may open at all. Default 10. */
  minimumAttempts?: number;
  /** Attempts older than this are forgotten. Default 10000 ms. */
  sampleWindowMs?: number;
  /** Pause after opening before one call goes through as a probe. Default 500 ms. */
  probeAfterMs?: number;
  /** Each failed probe doubles the pause, up to this. Default 2000 ms. */
  maxProbeAfterMs?: number;
  /**
   * What a call does while the breaker is open: `'wait'` (default) holds it until the probe's verdict —
   * a short outage becomes latency — bounded by `maxWaitMs`, the call's deadline and abort signal;
   * `'fail'` rejects it at once with `CircuitOpenError`.
   */
  whenOpen?: 'wait' | 'fail';
  /** Longest a call waits for the breaker to close before `CircuitOpenError`. Default 30000 ms. */
  maxWaitMs?: number;
  /** Calls that may wait per breaker; more fail at once with `CircuitOpenError`. Default 1000. */
  maxWaiting?: number;
  /** One breaker for the whole client (`'client'`, default) or one per requested model (`'model'`). */
  scope?: BreakerScope;
}

/** Logger option: a pino logger, pino options to build one, an SDK-style logger (e.g. `console`), or `false`. */
export type LoggerOption = PinoLogger | PinoLoggerOptions | SdkLogger | false;

/**
 * Options of `new ResilientClaude()`: every `@anthropic-ai/sdk` `ClientOptions` field (passed through
 * unchanged), plus the resilience layers' settings. Each layer takes `false` to switch it off.
 */
export interface ResilientClaudeOptions extends Omit<ClientOptions, 'logger'>, ApiKeysOptions {
  /** Retries per call (SDK-compatible; same as `retry.retries`). Default 2. */
  maxRetries?: number;
  /** Retry policy, or `false` for no retries at all. Default on. */
  retry?: RetryOptions | false;
  /** Circuit breaker, or `false`. Default on. */
  circuitBreaker?: BreakerOptions | false;
  /**
   * Overall deadline per call in ms: rate-limit queueing, every attempt and every backoff sleep. When it
   * passes, the call fails with `DeadlineExceededError`. Default none (each attempt still has the SDK's
   * `timeout`). Per call: `callOptions({ deadline })`.
   */
  deadline?: number;
  /**
   * Longest silence while a response body is read — no byte at all, SSE pings included — before the
   * attempt is given up: before a stream's first content (or in a JSON body) it is retried like a
   * timeout; after content it ends the stream with `StreamInterruptedError` (`kind: 'idle'`). The SDK's
   * `timeout` only covers the wait for response headers, so without this a silent stream hangs forever.
   * Default 60000 ms; 0 turns it off.
   */
  streamIdleTimeoutMs?: number;
  /**
   * Where logs go: one `info` record per call, retries and breaker changes at `warn`. Default: a pino
   * logger at level `warn` writing to stdout. The SDK's own log lines go to the same logger.
   */
  logger?: LoggerOption;
  /**
   * Keep request and response bodies (prompts, completions) in the SDK's own debug lines. Default false:
   * at `logLevel: 'debug'` those lines keep method, URL, status, headers (credentials masked) and timings,
   * and lose the bodies, whatever the logger.
   */
  logBodies?: boolean;
  /**
   * Input checks before anything is sent: local validation of the fields the library relies on, NUL
   * bytes stripped, prompt-injection heuristics flagged, oversize input refused. Default on; `false` off.
   */
  sanitize?: SanitizeOptions | false;
  /** Cost tracking (always-on ledger), custom prices and budgets. Default on, no budget; `false` off. */
  cost?: CostOptions | false;
  /**
   * Client-side rate limiting by requests, input tokens and output tokens per minute. `'auto'` (default)
   * learns the organization's limits from the `anthropic-ratelimit-*` response headers; an object with
   * `rpm`/`itpm`/`otpm` sets ceilings (headers can only lower them); `false` turns it off.
   */
  rateLimit?: RateLimitOptions | 'auto' | false;
  /**
   * Prometheus metrics (prom-client), exposed as `client.metrics`. Default on, in a registry of the
   * client's own (never prom-client's global one unless given); `false` off.
   */
  metrics?: ClientMetricsOptions | false;
  /**
   * An active health probe: `messages.countTokens` (free, not a paid message) every `intervalMs`; a
   * failing probe makes `health().ready` false. Default off (health is passive, from real traffic).
   */
  healthProbe?: HealthProbeOptions | false;
  /**
   * Where to look for an API key when none is given and the environment holds no credential: the OS
   * keyring (through the optional `@napi-rs/keyring`), then the encrypted key file written by
   * `npx resilient-claude key set`. Default on, with the default locations; `false` leaves credential
   * resolution entirely to the SDK.
   */
  keyStore?: { keyFile?: string | false; keyring?: boolean } | false;
  /**
   * Cost-aware routing (opt-in): a function that may rewrite a Messages call's params before it is
   * priced, limited or sent — e.g. `simpleTaskRouter({ cheapModel: 'claude-haiku-4-5' })`. Every
   * re-route is logged and recorded in the call record's notes. Default: none.
   */
  route?: RouteFunction;
  /**
   * Models to fall back to, in order, when a call's model is overloaded (529 after its retries, or its
   * breaker open). Breakers become per model. The model that answers is the one priced. Default: none.
   */
  fallbackModels?: readonly string[];
  /**
   * Redis for state shared across processes (rate-limit buckets, budgets, the cost ledger): an ioredis
   * client (not closed by the client) or a URL (a client is created and closed by `close()`). Default:
   * none, everything in this process.
   */
  redis?: Redis | string;
  /**
   * How `callOptions({ batch: true })` calls are gathered into Message Batches (half price) and watched:
   * batch size, gathering delay, status-check backoff. See {@link BatchOptions} for the defaults. With
   * `redis`, pending batches are recorded there and survive a restart (`client.batching.resume()`).
   */
  batch?: BatchOptions;
  /** Prefix of every Redis key the client writes. Default `'rc:'`. */
  redisPrefix?: string;
  /**
   * When Redis is unreachable: `'local'` (default) falls back to per-process state with a warn log and a
   * `redisError` event, and returns to Redis when it answers; `'fail'` fails the calls that need it.
   */
  onRedisError?: 'local' | 'fail';
}

/** Retry settings with defaults applied. */
export interface ResolvedRetryOptions {
  readonly enabled: boolean;
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  readonly jitter: boolean;
  /** 0 = no limit. */
  readonly firstContentTimeoutMs: number;
}

/** Breaker settings with defaults applied. */
export interface ResolvedBreakerOptions extends CircuitBreakerConfig {
  readonly enabled: boolean;
  readonly scope: BreakerScope;
}

/** Documented defaults, in one place. */
export const DEFAULTS = Object.freeze({
  retry: Object.freeze({ retries: 2, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000, jitter: true }),
  circuitBreaker: Object.freeze({
    failureRatio: 0.9,
    sampleSize: 20,
    minimumAttempts: 10,
    sampleWindowMs: 10_000,
    probeAfterMs: 500,
    maxProbeAfterMs: 2_000,
    whenOpen: 'wait' as 'wait' | 'fail',
    maxWaitMs: 30_000,
    maxWaiting: 1_000,
    scope: 'client' as BreakerScope,
  }),
  logLevel: 'warn' as const,
  streamIdleTimeoutMs: 60_000,
});

// --- validation -------------------------------------------------------------------------------------


function check<T>(predicate: (value: unknown) => boolean, expected: string) {
  return z.custom<T>((value) => predicate(value), { error: expected });
}

const isNonNegativeInteger = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isPositiveDuration = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMER_MS;
const isNonNegativeDuration = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_TIMER_MS;

const nonNegativeInteger = check<number>(isNonNegativeInteger, 'a non-negative integer');
const positiveDuration = check<number>(isPositiveDuration, `a number of milliseconds in (0, ${MAX_TIMER_MS}]`);
const nonNegativeDuration = check<number>(isNonNegativeDuration, `a number of milliseconds in [0, ${MAX_TIMER_MS}]`);

const retrySchema = z.strictObject({
  retries: nonNegativeInteger.optional(),
  baseDelayMs: nonNegativeDuration.optional(),
  maxDelayMs: nonNegativeDuration.optional(),
  maxRetryAfterMs: nonNegativeDuration.optional(),
  jitter: check<boolean>((v) => typeof v === 'boolean', 'a boolean').optional(),
  firstContentTimeoutMs: positiveDuration.optional(),
});

const isPositiveNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const isRegExpPattern = (v: unknown) =>
  typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && (v as { pattern?: unknown }).pattern instanceof RegExp;

const sanitizeSchema = z.strictObject({
  onSuspicious: check<string>((v) => v === 'warn' || v === 'reject' || v === 'ignore', "'warn', 'reject' or 'ignore'").optional(),
  patterns: check<unknown[]>((v) => Array.isArray(v) && v.every(isRegExpPattern), 'an array of { name: string; pattern: RegExp }').optional(),
  scanAssistant: check<boolean>((v) => typeof v === 'boolean', 'a boolean').optional(),
  maxInputChars: check<number>(isPositiveNumber, 'a positive number').optional(),
  maxRequestBytes: check<number>(isPositiveNumber, 'a positive number of bytes').optional(),
  maxInputTokens: check<number>(isPositiveNumber, 'a positive number').optional(),
  validate: check<boolean>((v) => typeof v === 'boolean', 'a boolean').optional(),
});

// Prices and budgets are validated in depth by the cost engine (ConfigError naming `cost.…`); here, the
// keys, so that a misspelled one (`limit`, `perUsr`) is refused instead of silently switching a limit off.
const costSchema = z.strictObject({
  prices: check<unknown[]>((v) => Array.isArray(v), 'an array of price rows').optional(),
  budget: check<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a budget options object').optional(),
  ledger: check<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'ledger options').optional(),
});
/** A schema that checks only which keys are present: the values are the cost engine's to validate. */
const keysOnly = (keys: readonly string[]) => z.strictObject(Object.fromEntries(keys.map((key) => [key, z.unknown().optional()])));
const budgetKeysSchema = keysOnly(['limitUsd', 'window', 'perUser', 'warnAt', 'name']);
const ledgerKeysSchema = keysOnly(['minuteBuckets', 'hourBuckets', 'dayBuckets', 'minuteCaps', 'hourCaps', 'dayCaps', 'lifetimeCaps']);

const isNonNegativeNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const rateLimitSchema = z.strictObject({
  rpm: check<number>(isPositiveNumber, 'a positive number of requests per minute').optional(),
  itpm: check<number>(isPositiveNumber, 'a positive number of input tokens per minute').optional(),
  otpm: check<number>(isPositiveNumber, 'a positive number of output tokens per minute').optional(),
  maxConcurrent: check<number>((v) => v === Infinity || (isNonNegativeInteger(v) && (v as number) > 0), 'a positive integer').optional(),
  maxQueue: check<number>((v) => v === Infinity || isNonNegativeInteger(v), 'a non-negative integer').optional(),
  maxWaitMs: check<number>((v) => v === Infinity || isNonNegativeNumber(v), 'a number of milliseconds ≥ 0').optional(),
  outputEstimate: check<unknown>(
    (v) => v === 'max_tokens' || typeof v === 'function' || isNonNegativeNumber(v),
    "'max_tokens', a number of tokens or a function of the params",
  ).optional(),
  cacheAwareInput: check<boolean>((v) => typeof v === 'boolean', 'a boolean').optional(),
  scope: check<string>((v) => v === 'model' || v === 'client', "'model' or 'client'").optional(),
  startupConcurrency: check<number>((v) => isNonNegativeInteger(v) && (v as number) > 0, 'a positive integer').optional(),
});

const metricsSchema = z.strictObject({
  registry: check<object>((v) => typeof v === 'object' && v !== null && typeof (v as { metrics?: unknown }).metrics === 'function', 'a prom-client Registry').optional(),
  prefix: check<string>((v) => typeof v === 'string' && /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(v), 'a Prometheus metric name prefix').optional(),
  buckets: check<number[]>((v) => Array.isArray(v) && v.every(isPositiveNumber), 'an array of positive numbers (seconds)').optional(),
  waitBuckets: check<number[]>((v) => Array.isArray(v) && v.every(isNonNegativeNumber), 'an array of numbers ≥ 0 (seconds)').optional(),
  labelLimits: check<object>((v) => typeof v === 'object' && v !== null, 'label limits').optional(),
});

const batchSchema = z.strictObject({
  maxCalls: check<number>((v) => isNonNegativeInteger(v) && (v as number) >= 1 && (v as number) <= 100_000, 'an integer in [1, 100000]').optional(),
  maxDelayMs: nonNegativeDuration.optional(),
  pollIntervalMs: positiveDuration.optional(),
  maxPollIntervalMs: positiveDuration.optional(),
  claimMs: check<number>((v) => isPositiveDuration(v) && (v as number) >= 1000, 'a number of milliseconds ≥ 1000').optional(),
});

const probeSchema = z.strictObject({
  intervalMs: check<number>((v) => isPositiveDuration(v) && (v as number) >= 1000, 'a number of milliseconds ≥ 1000').optional(),
  model: check<string>((v) => typeof v === 'string' && v.length > 0, 'a model id').optional(),
});

const keyStoreSchema = z.strictObject({
  keyFile: check<string | false>((v) => v === false || (typeof v === 'string' && v.length > 0), 'a file path or false').optional(),
  keyring: check<boolean>((v) => typeof v === 'boolean', 'a boolean').optional(),
});

/** Breaker options of 0.1 (opossum's names) and what replaced them in 0.2. */
const RENAMED_BREAKER_OPTIONS: Readonly<Record<string, string>> = {
  errorThresholdPercentage: 'failureRatio',
  volumeThreshold: 'minimumAttempts',
  rollingWindowMs: 'sampleWindowMs',
  resetTimeoutMs: 'probeAfterMs',
};

const positiveInteger = check<number>((v) => isNonNegativeInteger(v) && (v as number) > 0, 'a positive integer');
const breakerSchema = z.strictObject({
  failureRatio: check<number>((v) => typeof v === 'number' && v > 0 && v <= 1, 'a ratio in (0, 1]').optional(),
  sampleSize: positiveInteger.optional(),
  minimumAttempts: positiveInteger.optional(),
  sampleWindowMs: positiveDuration.optional(),
  probeAfterMs: positiveDuration.optional(),
  maxProbeAfterMs: positiveDuration.optional(),
  whenOpen: check<'wait' | 'fail'>((v) => v === 'wait' || v === 'fail', "'wait' or 'fail'").optional(),
  maxWaitMs: nonNegativeDuration.optional(),
  maxWaiting: nonNegativeInteger.optional(),
  scope: check<BreakerScope>((v) => v === 'client' || v === 'model', "'client' or 'model'").optional(),
});

function describeIssue(issue: z.core.$ZodIssue): { path: string; expected: string } {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    return { path: keys.map((k) => (path ? `${path}.${k}` : k)).join(', '), expected: 'no such option (unknown key)' };
  }
  return { path, expected: issue.message };
}

/** Validates one option section that may be `false`, `undefined` or an object of the given schema. */
export function validateSection(
  name: string,
  value: unknown,
  schema: z.ZodObject,
  expected = 'an options object or false',
  renamed: Readonly<Record<string, string>> = {},
): void {
  if (value === undefined || value === false) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(name, expected, `got ${describeValue(value)}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    if (first) {
      if (first.code === 'unrecognized_keys') {
        const known = Object.keys(schema.shape);
        for (const key of first.keys) {
          const meant = first.path.length === 0 ? (renamed[key] ?? meantOption(key, known)) : undefined;
          if (meant !== undefined) throw ConfigError.misspelled(`${name}.${key}`, `${name}.${meant}`);
        }
        const { path, expected: wanted } = describeIssue(first);
        throw new ConfigError(`${name}.${path}`, wanted);
      }
      const { path, expected: wanted } = describeIssue(first);
      const option = path ? `${name}.${path}` : name;
      throw new ConfigError(option, wanted, `got ${describeValue(readPath(value, first.path))}`);
    }
  }
}

function readPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A short, secret-free description of a bad value for error messages. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Our top-level options (the SDK's own are passed through). */
const OWN_OPTIONS = [
  'maxRetries',
  'retry',
  'circuitBreaker',
  'deadline',
  'streamIdleTimeoutMs',
  'logger',
  'logBodies',
  'sanitize',
  'cost',
  'rateLimit',
  'metrics',
  'healthProbe',
  'keyStore',
  'route',
  'fallbackModels',
  'redis',
  'batch',
  'redisPrefix',
  'onRedisError',
  'apiKeys',
  'keyStrategy',
  'sharedLimits',
  'quarantineMs',
] as const;

/** The SDK's own top-level options: never mistaken for a typo of ours. */
const SDK_OPTIONS = new Set([
  'apiKey',
  'authToken',
  'credentials',
  'config',
  'profile',
  'webhookKey',
  'baseURL',
  'timeout',
  'fetchOptions',
  'fetch',
  'middleware',
  'defaultHeaders',
  'defaultQuery',
  'dangerouslyAllowBrowser',
  'openTelemetry',
  'logLevel',
  'logger',
  'maxRetries',
]);

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions), capped at 2. */
function nearlyEqual(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]!.push(d);
    }
  }
  return rows[a.length]![b.length]! <= 1;
}

/**
 * The option a key was probably meant to be: one of ours that it matches but for case, or within one
 * edit. Unknown keys far from any of ours pass through to the SDK (new SDK versions add options).
 */
export function meantOption(key: string, names: readonly string[] = OWN_OPTIONS): string | undefined {
  if (names.includes(key) || SDK_OPTIONS.has(key)) return undefined;
  const lower = key.toLowerCase();
  return (
    names.find((name) => name.toLowerCase() === lower) ??
    // A plural of ours (`batches` for `batch`) is two edits away, and a common slip.
    names.find((name) => lower === `${name.toLowerCase()}s` || lower === `${name.toLowerCase()}es`) ??
    names.find((name) => nearlyEqual(lower, name.toLowerCase()))
  );
}

const PINO_LEVEL_NAMES = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Throws `ConfigError` naming the first wrong option. SDK options are left to the SDK's own checks. */
export function validateOptions(options: ResilientClaudeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', 'an options object', `got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    const meant = meantOption(key);
    if (meant !== undefined) throw ConfigError.misspelled(key, meant);
  }
  // The SDK checks it too, with a plainer error; ours names the option like every other.
  if (options.maxRetries !== undefined && !isNonNegativeInteger(options.maxRetries)) {
    throw new ConfigError('maxRetries', 'a non-negative integer', `got ${describeValue(options.maxRetries)}`);
  }
  validateSection('retry', options.retry, retrySchema);
  validateSection('circuitBreaker', options.circuitBreaker, breakerSchema, undefined, RENAMED_BREAKER_OPTIONS);
  if (options.circuitBreaker) {
    const { minimumAttempts, sampleSize = DEFAULTS.circuitBreaker.sampleSize } = options.circuitBreaker;
    if (minimumAttempts !== undefined && minimumAttempts > sampleSize) {
      throw new ConfigError('circuitBreaker.minimumAttempts', `at most sampleSize (${sampleSize})`, `got ${minimumAttempts}`);
    }
  }
  if (options.deadline !== undefined && !isPositiveDuration(options.deadline)) {
    throw new ConfigError('deadline', `a number of milliseconds in (0, ${MAX_TIMER_MS}]`, `got ${describeValue(options.deadline)}`);
  }
  if (options.streamIdleTimeoutMs !== undefined && !isNonNegativeDuration(options.streamIdleTimeoutMs)) {
    throw new ConfigError('streamIdleTimeoutMs', `a number of milliseconds in [0, ${MAX_TIMER_MS}] (0: no limit)`, `got ${describeValue(options.streamIdleTimeoutMs)}`);
  }
  if (options.apiKeys !== undefined) validateKeyPoolOptions({ ...options, apiKeys: options.apiKeys });
  validateSection('sanitize', options.sanitize, sanitizeSchema);
  if (typeof options.rateLimit === 'string' && options.rateLimit !== 'auto') {
    throw new ConfigError('rateLimit', "'auto', an options object or false", `got ${describeValue(options.rateLimit)}`);
  }
  if (options.rateLimit !== 'auto') validateSection('rateLimit', options.rateLimit, rateLimitSchema);
  validateSection('metrics', options.metrics, metricsSchema);
  validateSection('healthProbe', options.healthProbe, probeSchema);
  validateSection('batch', options.batch, batchSchema, 'a batch options object');
  validateSection('keyStore', options.keyStore, keyStoreSchema);
  if (options.route !== undefined && typeof options.route !== 'function') {
    throw new ConfigError('route', 'a function (params) => params | undefined', `got ${describeValue(options.route)}`);
  }
  const fallbackModels: unknown = options.fallbackModels;
  if (fallbackModels !== undefined && (!Array.isArray(fallbackModels) || !fallbackModels.every((m) => typeof m === 'string' && m.length > 0))) {
    throw new ConfigError('fallbackModels', 'an array of model ids', `got ${describeValue(fallbackModels)}`);
  }
  validateSection('cost', options.cost, costSchema);
  if (options.cost) {
    validateSection('cost.budget', options.cost.budget, budgetKeysSchema, 'a budget options object', { limit: 'limitUsd', perUserUsd: 'perUser' });
    validateSection('cost.ledger', options.cost.ledger, ledgerKeysSchema, 'ledger options');
  }
  const redis = options.redis;
  if (redis !== undefined && typeof redis !== 'string' && !(typeof redis === 'object' && redis !== null && typeof (redis as { evalsha?: unknown }).evalsha === 'function')) {
    throw new ConfigError('redis', 'an ioredis client or a redis:// URL', `got ${describeValue(redis)}`);
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    throw new ConfigError('redis', 'a redis:// or rediss:// URL', 'got a string of another form');
  }
  if (options.redisPrefix !== undefined && (typeof options.redisPrefix !== 'string' || /[{}]/.test(options.redisPrefix))) {
    throw new ConfigError('redisPrefix', 'a string without braces', `got ${describeValue(options.redisPrefix)}`);
  }
  if (options.onRedisError !== undefined && options.onRedisError !== 'local' && options.onRedisError !== 'fail') {
    throw new ConfigError('onRedisError', "'local' or 'fail'", `got ${describeValue(options.onRedisError)}`);
  }
  const logger = options.logger;
  if (logger !== undefined && logger !== false && (typeof logger !== 'object' || logger === null)) {
    throw new ConfigError('logger', 'a pino logger, pino options, an SDK logger or false', `got ${describeValue(logger)}`);
  }
  const level = (logger as { level?: unknown; customLevels?: Record<string, unknown>; child?: unknown } | undefined)?.level;
  if (level !== undefined && typeof (logger as { child?: unknown }).child !== 'function') {
    const custom = Object.keys((logger as { customLevels?: Record<string, unknown> }).customLevels ?? {});
    if (typeof level !== 'string' || !(PINO_LEVEL_NAMES.has(level) || custom.includes(level))) {
      throw new ConfigError('logger.level', `a pino level (${[...PINO_LEVEL_NAMES, ...custom].join(', ')})`, `got ${describeValue(level)}`);
    }
  }
  if (options.logBodies !== undefined && typeof options.logBodies !== 'boolean') {
    throw new ConfigError('logBodies', 'a boolean', `got ${describeValue(options.logBodies)}`);
  }
}

/** Applies retry defaults. `maxRetries` and `retry.retries` are the same setting; see the client. */
export function resolveRetry(options: ResilientClaudeOptions, retries: number): ResolvedRetryOptions {
  const retry = options.retry;
  const d = DEFAULTS.retry;
  if (retry === false) return { enabled: false, retries: 0, ...pickDelays(undefined) };
  return { enabled: true, retries, ...pickDelays(retry) };

  function pickDelays(r: RetryOptions | undefined) {
    return {
      baseDelayMs: r?.baseDelayMs ?? d.baseDelayMs,
      maxDelayMs: r?.maxDelayMs ?? d.maxDelayMs,
      maxRetryAfterMs: r?.maxRetryAfterMs ?? d.maxRetryAfterMs,
      jitter: r?.jitter ?? d.jitter,
      firstContentTimeoutMs: r?.firstContentTimeoutMs ?? 0,
    };
  }
}

/** Applies breaker defaults. */
export function resolveBreaker(options: ResilientClaudeOptions): ResolvedBreakerOptions {
  const b = options.circuitBreaker || {};
  const d = DEFAULTS.circuitBreaker;
  return {
    enabled: options.circuitBreaker !== false,
    failureRatio: b.failureRatio ?? d.failureRatio,
    sampleSize: b.sampleSize ?? d.sampleSize,
    minimumAttempts: b.minimumAttempts ?? Math.min(d.minimumAttempts, b.sampleSize ?? d.sampleSize),
    sampleWindowMs: b.sampleWindowMs ?? d.sampleWindowMs,
    probeAfterMs: b.probeAfterMs ?? d.probeAfterMs,
    maxProbeAfterMs: Math.max(b.maxProbeAfterMs ?? d.maxProbeAfterMs, b.probeAfterMs ?? d.probeAfterMs),
    whenOpen: b.whenOpen ?? d.whenOpen,
    maxWaitMs: b.maxWaitMs ?? d.maxWaitMs,
    maxWaiting: b.maxWaiting ?? d.maxWaiting,
    // With model fallback, an overloaded model must not close the door on the others.
    scope: options.fallbackModels?.length ? 'model' : (b.scope ?? d.scope),
  };
}
