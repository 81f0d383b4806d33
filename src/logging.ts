import pino, { type Logger as PinoLogger, type LoggerOptions as PinoLoggerOptions } from 'pino';
import type { LoggerOption } from './options';
import type { SdkLogger } from './sdk-types';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The library's structured log sink. Every record is an object of facts plus a short message; nothing in
 * it may carry a secret, a prompt or a completion.
 */
export interface LogSink {
  enabled(level: Level): boolean;
  log(level: Level, fields: Record<string, unknown>, message: string): void;
}

/** Header and field names pino redacts should they ever reach a record (defence in depth). */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'sdk[*].headers.authorization',
  'sdk[*].headers["x-api-key"]',
];

/** pino's own level names, for a level check before the logger exists. */
const PINO_LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function isPino(value: unknown): value is PinoLogger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PinoLogger).child === 'function' &&
    typeof (value as PinoLogger).isLevelEnabled === 'function' &&
    typeof (value as PinoLogger).level === 'string'
  );
}

function isSdkLogger(value: unknown): value is SdkLogger {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['error', 'warn', 'info', 'debug'].every((m) => typeof v[m] === 'function');
}

/**
 * A pino logger built on first use. Building one costs more than the SDK client it belongs to (and
 * registers an exit hook), so clients that never log at an enabled level never build it.
 */
class LazyPino {
  #logger: PinoLogger | undefined;
  constructor(
    private readonly build: () => PinoLogger,
    private readonly threshold: number,
  ) {}
  /** A logger that already exists (the caller's own). */
  static of(logger: PinoLogger): LazyPino {
    const source = new LazyPino(() => logger, 0);
    source.#logger = logger;
    return source;
  }
  get logger(): PinoLogger {
    this.#logger ??= this.build();
    return this.#logger;
  }
  enabled(level: Level): boolean {
    return this.#logger ? this.#logger.isLevelEnabled(level) : PINO_LEVELS[level]! >= this.threshold;
  }
}

function pinoSink(source: LazyPino): LogSink {
  return {
    enabled: (level) => source.enabled(level),
    log: (level, fields, message) => {
      if (source.enabled(level)) source.logger[level](fields, message);
    },
  };
}

const LEVEL_ORDER: Record<string, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

/**
 * Sink for an SDK-style logger (e.g. `console`): filtered by the client's `logLevel`, like the SDK's own
 * lines, with the facts passed as the second argument.
 */
function sdkLoggerSink(logger: SdkLogger, minLevel: () => string): LogSink {
  const enabled = (level: Level) => LEVEL_ORDER[level]! >= (LEVEL_ORDER[minLevel()] ?? LEVEL_ORDER.warn!);
  return {
    enabled,
    log: (level, fields, message) => {
      if (enabled(level)) logger[level](`[resilient-claude] ${message}`, fields);
    },
  };
}

const silentSink: LogSink = { enabled: () => false, log: () => undefined };

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'x-amz-security-token', 'cookie', 'set-cookie']);

/** Facts of an SDK request/response detail object that are safe to log: no body, no options payload. */
const KEPT_DETAILS = new Set(['retryOf', 'retryOfRequestLogID', 'url', 'status', 'method', 'durationMs', 'message']);

function redactHeaders(headers: unknown): Record<string, string> {
  const entries: [string, unknown][] =
    headers instanceof Headers ? [...headers] : typeof headers === 'object' && headers !== null ? Object.entries(headers) : [];
  return Object.fromEntries(entries.map(([name, value]) => [name, SECRET_HEADERS.has(name.toLowerCase()) ? '***' : String(value)]));
}

/**
 * One argument of an SDK log line, without prompts or completions. The SDK's debug lines carry the
 * request options (with the params: the prompt) and parsed response bodies (the completion); what
 * remains is what debugging a call needs: method, URL, status, request id (in the headers), timings.
 */
function redactSdkArgument(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Headers) return redactHeaders(value);
  if (Array.isArray(value) || value instanceof ReadableStream) return '[omitted]';
  const record = value as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) {
    if (KEPT_DETAILS.has(key)) kept[key] = field;
    else if (key === 'headers') kept.headers = redactHeaders(field);
    else if (key === 'options' && typeof field === 'object' && field !== null) {
      const { method, path } = field as { method?: unknown; path?: unknown };
      kept.options = { method, path };
    } else if (key === 'body') kept.body = '[omitted]';
  }
  return kept;
}

/** The SDK logger, with every argument past the message passed through {@link redactSdkArgument}. */
function redactingSdkLogger(target: SdkLogger): SdkLogger {
  const forward =
    (level: Level) =>
    (message: string, ...rest: unknown[]): void => {
      target[level](message, ...rest.map(redactSdkArgument));
    };
  return { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug') };
}

/**
 * Adapts pino to the SDK's `Logger` interface. The SDK calls `(message, ...details)`; pino wants
 * `(object, message)`, so details go under `sdk`.
 */
function sdkAdapter(source: LazyPino): SdkLogger {
  let child: PinoLogger | undefined;
  const forward =
    (level: Level) =>
    (message: string, ...rest: unknown[]): void => {
      if (!source.enabled(level)) return;
      child ??= source.logger.child({ component: 'sdk' });
      if (rest.length === 0) child[level](message);
      else child[level]({ sdk: rest }, message);
    };
  return { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug') };
}

/** The resolved logging setup of a client. */
export interface ResolvedLogging {
  /** Where our records go. */
  readonly sink: LogSink;
  /** What to hand the SDK as its `logger` option (undefined = leave the SDK's default). */
  readonly sdkLogger: SdkLogger | undefined;
}

let defaultPino: LazyPino | undefined;

/** The logger of every client built without a `logger` option: one per process, built on first use. */
function sharedDefaultPino(): LazyPino {
  defaultPino ??= new LazyPino(
    () => pino({ name: 'resilient-claude', level: 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }),
    PINO_LEVELS.warn!,
  );
  return defaultPino;
}

function lazyFromOptions(given: PinoLoggerOptions): LazyPino {
  const extra = Array.isArray(given.redact) ? given.redact : (given.redact?.paths ?? []);
  const options: PinoLoggerOptions = {
    name: 'resilient-claude',
    level: 'warn',
    ...given,
    redact: { paths: [...REDACT_PATHS, ...extra], censor: '[redacted]' },
  };
  const lazy = new LazyPino(() => pino(options), PINO_LEVELS[options.level ?? 'warn'] ?? -Infinity);
  // Custom levels change what the level names mean: build it now rather than guess.
  if (options.customLevels) void lazy.logger;
  return lazy;
}

/**
 * Turns the `logger` option into a sink and an SDK logger.
 * - pino logger: used as is; the SDK logs through a child (`component: 'sdk'`).
 * - pino options: a new pino logger (level `warn` unless given), redacting auth fields, built on first use.
 * - SDK-style logger (`console`, …): records go to it, filtered by the client's `logLevel` like the SDK's
 *   own lines.
 * - `false`: no records of ours; the SDK keeps its default destination (`console`).
 * - undefined: pino at level `warn` on stdout, one logger shared by every such client.
 *
 * Whatever the destination, the SDK's own lines lose request and response bodies (prompts, completions)
 * unless `logBodies` is true: at `logLevel: 'debug'` the SDK would log them whole.
 */
export function resolveLogging(option: LoggerOption | undefined, sdkLogLevel: () => string = () => 'warn', logBodies = false): ResolvedLogging {
  const redact = (logger: SdkLogger): SdkLogger => (logBodies ? logger : redactingSdkLogger(logger));
  if (option === false) return { sink: silentSink, sdkLogger: logBodies ? undefined : redact(console) };
  if (isPino(option)) {
    const source = LazyPino.of(option);
    return { sink: pinoSink(source), sdkLogger: redact(sdkAdapter(source)) };
  }
  if (isSdkLogger(option)) return { sink: sdkLoggerSink(option, sdkLogLevel), sdkLogger: redact(option) };
  const source = option === undefined ? sharedDefaultPino() : lazyFromOptions(option);
  return { sink: pinoSink(source), sdkLogger: redact(sdkAdapter(source)) };
}
