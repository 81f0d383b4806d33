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

function pinoSink(logger: PinoLogger): LogSink {
  return {
    enabled: (level) => logger.isLevelEnabled(level),
    log: (level, fields, message) => logger[level](fields, message),
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

/**
 * Adapts pino to the SDK's `Logger` interface. The SDK calls `(message, ...details)`; pino wants
 * `(object, message)`, so details go under `sdk`.
 */
function sdkAdapter(logger: PinoLogger): SdkLogger {
  const forward =
    (level: Level) =>
    (message: string, ...rest: unknown[]): void => {
      if (rest.length === 0) logger[level](message);
      else logger[level]({ sdk: rest }, message);
    };
  return { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug') };
}

/** The resolved logging setup of a client. */
export interface ResolvedLogging {
  /** Where our records go. */
  readonly sink: LogSink;
  /** What to hand the SDK as its `logger` option (undefined = leave the SDK's default). */
  readonly sdkLogger: SdkLogger | undefined;
  /** The pino logger, when there is one. */
  readonly pino: PinoLogger | undefined;
}

/**
 * Turns the `logger` option into a sink and an SDK logger.
 * - pino logger: used as is; the SDK logs through a child (`component: 'sdk'`).
 * - pino options: a new pino logger (level `warn` unless given), redacting auth fields.
 * - SDK-style logger (`console`, …): records go to it, filtered by the client's `logLevel` like the SDK's
 *   own lines; the SDK gets it unchanged.
 * - `false`: no records; the SDK keeps its own default.
 * - undefined: pino at level `warn` on stdout.
 */
export function resolveLogging(option: LoggerOption | undefined, sdkLogLevel: () => string = () => 'warn'): ResolvedLogging {
  if (option === false) return { sink: silentSink, sdkLogger: undefined, pino: undefined };
  if (isPino(option)) {
    return { sink: pinoSink(option), sdkLogger: sdkAdapter(option.child({ component: 'sdk' })), pino: option };
  }
  if (isSdkLogger(option)) {
    return { sink: sdkLoggerSink(option, sdkLogLevel), sdkLogger: option, pino: undefined };
  }
  const given = option ?? {};
  const extra = Array.isArray(given.redact) ? given.redact : (given.redact?.paths ?? []);
  const options: PinoLoggerOptions = {
    name: 'resilient-claude',
    level: 'warn',
    ...given,
    redact: { paths: [...REDACT_PATHS, ...extra], censor: '[redacted]' },
  };
  const logger = pino(options);
  return { sink: pinoSink(logger), sdkLogger: sdkAdapter(logger.child({ component: 'sdk' })), pino: logger };
}
