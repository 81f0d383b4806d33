/**
 * Fault specifications for the fake server, the {@link faults} builders, and the registry that
 * decides which fault (if any) a request gets.
 *
 * Precedence for each request: an active **outage** wins; then the **schedule** (only for
 * `POST /v1/messages`); then **injected** faults, in injection order, first match wins.
 *
 * @module
 */
import { deriveSeed, SeededRandom } from './ids';

/**
 * Error `type` values the fake server can put in an error body. The SDK's `ErrorType` values plus
 * `request_too_large` (413); any other string is allowed too.
 */
export type FaultErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error'
  | 'conflict_error'
  | (string & {});

/**
 * Respond with an HTTP error and an Anthropic error body
 * `{"type":"error","error":{"type":errorType,"message":...[,"details":{"error_code":errorCode}]},"request_id":"req_…"}`.
 * On a streaming request the error is sent instead of the stream, before any SSE, like the real API.
 */
export interface StatusFault {
  readonly kind: 'status';
  /** HTTP status. */
  readonly status: number;
  /** `error.type` in the body. */
  readonly errorType: FaultErrorType;
  /** `error.message`; defaults to a short text for the type. */
  readonly message?: string;
  /** Extra response headers (e.g. `retry-after`, `retry-after-ms`, `x-should-retry`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `error.details.error_code` — the SDK maps some `status + code` pairs to dedicated classes. */
  readonly errorCode?: string;
}

/** Destroy the connection before any response headers (the SDK raises `APIConnectionError`). */
export interface ResetFault {
  readonly kind: 'reset';
}

/**
 * Never respond. The socket is kept until the client gives up (SDK `timeout` →
 * `APIConnectionTimeoutError`) or the server closes.
 */
export interface HangFault {
  readonly kind: 'hang';
}

/** Wait `delayMs`, then handle the request normally (rate limits and all). */
export interface SlowHeadersFault {
  readonly kind: 'slowHeaders';
  /** Delay before handling, ms. */
  readonly delayMs: number;
}

/**
 * Streaming requests only: HTTP 200 SSE; after `message_start` and `afterDeltas`
 * `content_block_delta` events, send `event: error` with an Anthropic error body, then end.
 */
export interface SseErrorFault {
  readonly kind: 'sseError';
  /** Deltas to send before the error (0 = before the first delta; clamped to the delta count). */
  readonly afterDeltas: number;
  /** `error.type` in the event. Default `'overloaded_error'`. */
  readonly errorType?: FaultErrorType;
  /** `error.message`; defaults to a short text for the type. */
  readonly message?: string;
}

/** Streaming requests only: destroy the socket after `afterDeltas` deltas (no `message_stop`). */
export interface CutStreamFault {
  readonly kind: 'cutStream';
  /** Deltas to send before cutting (clamped to the delta count). */
  readonly afterDeltas: number;
}

/**
 * Streaming requests only: end the response cleanly after `afterDeltas` deltas, without
 * `content_block_stop`, `message_delta` or `message_stop`.
 */
export interface TruncateStreamFault {
  readonly kind: 'truncateStream';
  /** Deltas to send before ending (clamped to the delta count). */
  readonly afterDeltas: number;
}

/** Any fault the fake server can apply. Discriminated on `kind`. */
export type FaultSpec =
  | StatusFault
  | ResetFault
  | HangFault
  | SlowHeadersFault
  | SseErrorFault
  | CutStreamFault
  | TruncateStreamFault;

/** The faults that only make sense on streaming requests. */
export type StreamFault = SseErrorFault | CutStreamFault | TruncateStreamFault;

/**
 * Whether a fault only applies to streaming requests (`sseError`, `cutStream`, `truncateStream`).
 *
 * @param fault - Any fault.
 */
export function isStreamFault(fault: FaultSpec): fault is StreamFault {
  return fault.kind === 'sseError' || fault.kind === 'cutStream' || fault.kind === 'truncateStream';
}

/** Options every status-fault builder accepts. */
export interface StatusFaultOptions {
  /** `error.message`. */
  message?: string;
  /** Extra response headers, e.g. `{ 'retry-after': '2' }`, `{ 'x-should-retry': 'false' }`. */
  headers?: Record<string, string>;
  /** `error.details.error_code`. */
  errorCode?: string;
}

/** Options of {@link faults.rateLimited}. */
export interface RateLimitedFaultOptions extends StatusFaultOptions {
  /** Sets `retry-after` (seconds). */
  retryAfterS?: number;
  /** Sets `retry-after-ms`. */
  retryAfterMs?: number;
}

function status(status: number, errorType: FaultErrorType, opts: StatusFaultOptions = {}): StatusFault {
  return {
    kind: 'status',
    status,
    errorType,
    ...(opts.message !== undefined ? { message: opts.message } : {}),
    ...(opts.headers !== undefined ? { headers: { ...opts.headers } } : {}),
    ...(opts.errorCode !== undefined ? { errorCode: opts.errorCode } : {}),
  };
}

/**
 * Builders for {@link FaultSpec} values. Each status builder takes {@link StatusFaultOptions}
 * (`message`, `headers`, `errorCode`).
 *
 * @example
 * ```ts
 * server.inject(faults.overloaded(), { times: 2 });
 * server.schedule(faults.rateLimited({ retryAfterS: 1 }), 'ok');
 * server.inject(faults.cutStream(3), { probability: 0.1 });
 * ```
 */
export const faults = {
  /** Any status fault. */
  status,
  /** 529 `overloaded_error` → SDK `OverloadedError`. */
  overloaded: (opts?: StatusFaultOptions): StatusFault => status(529, 'overloaded_error', opts),
  /** `status` (default 500) `api_error` → SDK `InternalServerError` (or its 5xx subclass). */
  serverError: (statusCode = 500, opts?: StatusFaultOptions): StatusFault => status(statusCode, 'api_error', opts),
  /** 503 `api_error` → SDK `ServiceUnavailableError`. The default outage fault. */
  unavailable: (opts?: StatusFaultOptions): StatusFault =>
    status(503, 'api_error', { message: 'Service unavailable', ...opts }),
  /** 504 `timeout_error` → SDK `GatewayTimeoutError`. */
  gatewayTimeout: (opts?: StatusFaultOptions): StatusFault => status(504, 'timeout_error', opts),
  /** 408 `timeout_error` → SDK `RequestTimeoutError`. */
  requestTimeout: (opts?: StatusFaultOptions): StatusFault => status(408, 'timeout_error', opts),
  /** 409 `conflict_error` → SDK `ConflictError`. */
  conflict: (opts?: StatusFaultOptions): StatusFault => status(409, 'conflict_error', opts),
  /** 401 `authentication_error` → SDK `AuthenticationError`. */
  unauthorized: (opts?: StatusFaultOptions): StatusFault => status(401, 'authentication_error', opts),
  /** 403 `permission_error` → SDK `PermissionDeniedError`. */
  forbidden: (opts?: StatusFaultOptions): StatusFault => status(403, 'permission_error', opts),
  /** 404 `not_found_error` → SDK `NotFoundError`. */
  notFound: (opts?: StatusFaultOptions): StatusFault => status(404, 'not_found_error', opts),
  /** 400 `invalid_request_error` → SDK `BadRequestError`. */
  badRequest: (message?: string, opts?: StatusFaultOptions): StatusFault =>
    status(400, 'invalid_request_error', { ...opts, ...(message !== undefined ? { message } : {}) }),
  /** 413 `request_too_large` → SDK `ContentTooLargeError`. */
  tooLarge: (opts?: StatusFaultOptions): StatusFault => status(413, 'request_too_large', opts),
  /** 429 `rate_limit_error` → SDK `RateLimitError`; `retryAfterS` / `retryAfterMs` set the headers. */
  rateLimited: (opts: RateLimitedFaultOptions = {}): StatusFault => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.retryAfterS !== undefined) headers['retry-after'] = String(opts.retryAfterS);
    if (opts.retryAfterMs !== undefined) headers['retry-after-ms'] = String(opts.retryAfterMs);
    return status(429, 'rate_limit_error', { ...opts, headers });
  },
  /**
   * 429 `rate_limit_error` with `details.error_code: 'enforced_spend_limit_reached'` → SDK
   * `EnforcedSpendLimitReachedError` (a `RateLimitError` subclass).
   */
  spendLimit: (opts?: StatusFaultOptions): StatusFault =>
    status(429, 'rate_limit_error', {
      message: 'You have reached your specified workspace API usage limits.',
      errorCode: 'enforced_spend_limit_reached',
      ...opts,
    }),
  /** Destroy the socket before any headers. */
  reset: (): ResetFault => ({ kind: 'reset' }),
  /** Never respond. */
  hang: (): HangFault => ({ kind: 'hang' }),
  /** Wait `delayMs`, then respond normally. */
  slowHeaders: (delayMs: number): SlowHeadersFault => ({ kind: 'slowHeaders', delayMs }),
  /** Mid-stream `event: error` after `afterDeltas` deltas (default type `overloaded_error`). */
  sseError: (afterDeltas = 0, errorType: FaultErrorType = 'overloaded_error', message?: string): SseErrorFault => ({
    kind: 'sseError',
    afterDeltas,
    errorType,
    ...(message !== undefined ? { message } : {}),
  }),
  /** Destroy the socket after `afterDeltas` deltas. */
  cutStream: (afterDeltas = 0): CutStreamFault => ({ kind: 'cutStream', afterDeltas }),
  /** End the stream cleanly after `afterDeltas` deltas, with no `message_stop`. */
  truncateStream: (afterDeltas = 0): TruncateStreamFault => ({ kind: 'truncateStream', afterDeltas }),
} as const;

/** Default `error.message` for an error type. */
export function defaultErrorMessage(errorType: string, statusCode?: number): string {
  switch (errorType) {
    case 'overloaded_error':
      return 'Overloaded';
    case 'api_error':
      return statusCode === 503 ? 'Service unavailable' : 'Internal server error';
    case 'timeout_error':
      return statusCode === 504 ? 'Gateway timeout' : 'Request timed out';
    case 'rate_limit_error':
      return 'Number of requests has exceeded your rate limit.';
    case 'authentication_error':
      return 'invalid x-api-key';
    case 'permission_error':
      return 'Your API key does not have permission to use the specified resource.';
    case 'not_found_error':
      return 'Not found';
    case 'request_too_large':
      return 'Request exceeds the maximum allowed number of bytes.';
    case 'conflict_error':
      return 'Conflict';
    case 'billing_error':
      return 'Your credit balance is too low to access the Anthropic API.';
    default:
      return 'Invalid request';
  }
}

/** The request as seen by {@link InjectWhen.match}. */
export interface FaultMatchRequest {
  /** HTTP method, upper-case. */
  readonly method: string;
  /** Path without the query string, e.g. `/v1/messages`. */
  readonly path: string;
  /** `model` from the body, if it is a string. */
  readonly model?: string;
  /** `stream: true` in the body. */
  readonly stream: boolean;
  /** The API key presented, if any. */
  readonly apiKey?: string;
  /** The parsed JSON body (always available here, even with `recordBodies: false`). */
  readonly body?: unknown;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** `x-stainless-retry-count`, if sent. */
  readonly retryCount?: number;
}

/** When an injected fault applies. All conditions must hold. */
export interface InjectWhen {
  /** Apply at most this many times, then the fault removes itself. Default: unlimited. */
  times?: number;
  /**
   * Chance (0–1) that a matching request gets the fault. Drawn from a stream seeded by the
   * server's `seed` and the injection's ordinal, so a run is reproducible. Default 1.
   */
  probability?: number;
  /** Extra predicate on the request. */
  match?: (req: FaultMatchRequest) => boolean;
  /**
   * Paths (without query) the fault applies to. Default `['/v1/messages']`. An entry ending in `*`
   * matches by prefix (e.g. `'/v1/messages/batches*'`).
   */
  paths?: string[];
}

/** A handle on an injected fault. */
export interface FaultHandle {
  /** Stops the fault from applying to further requests. */
  remove(): void;
  /** How many requests the fault has been applied to. */
  readonly hits: number;
  /** Whether the fault can still apply (not removed, `times` not used up). */
  readonly active: boolean;
}

/** A handle on scheduled faults. */
export interface ScheduleHandle {
  /** This call's entries not yet consumed. */
  readonly remaining: number;
  /** Drops this call's entries that have not been consumed yet. */
  cancel(): void;
}

/** A handle on an outage. */
export interface OutageHandle {
  /** Ends the outage now. */
  end(): void;
  /** Whether the outage is still in effect. */
  readonly active: boolean;
}

/** Options of {@link FakeAnthropicServer.outage}. */
export interface OutageOptions {
  /** End automatically once this much time has passed on the server clock. Default: until `end()`. */
  durationMs?: number;
}

interface Injected {
  readonly fault: FaultSpec;
  readonly times: number;
  readonly probability: number;
  readonly match: ((req: FaultMatchRequest) => boolean) | undefined;
  readonly paths: readonly string[];
  readonly rng: SeededRandom;
  hits: number;
  removed: boolean;
}

interface Scheduled {
  readonly entry: FaultSpec | 'ok';
  readonly owner: object;
}

interface Outage {
  readonly fault: FaultSpec;
  readonly endsAt: number;
  ended: boolean;
}

/** The outcome of fault selection for one request. @internal */
export interface FaultDecision {
  /** The fault to apply, if any. */
  readonly fault?: FaultSpec;
}

function pathMatches(patterns: readonly string[], path: string): boolean {
  for (const p of patterns) {
    if (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : p === path) return true;
  }
  return false;
}

function validateFault(fault: FaultSpec): void {
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
    throw new RangeError(`status fault needs an HTTP error status (400–599), got ${String(fault.status)}`);
  }
  if (fault.kind === 'slowHeaders' && !(fault.delayMs >= 0)) {
    throw new RangeError('slowHeaders.delayMs must be ≥ 0');
  }
  if (isStreamFault(fault) && !(Number.isInteger(fault.afterDeltas) && fault.afterDeltas >= 0)) {
    throw new RangeError(`${fault.kind}.afterDeltas must be an integer ≥ 0`);
  }
}

/** Holds injected, scheduled and outage faults and picks one per request. @internal */
export class FaultRegistry {
  private injected: Injected[] = [];
  private scheduled: Scheduled[] = [];
  private outages: Outage[] = [];
  private injections = 0;

  /**
   * @param seed - The server seed (each injection draws from its own derived stream).
   * @param clock - The server clock (outage durations).
   */
  constructor(
    private readonly seed: number,
    private readonly clock: () => number,
  ) {}

  inject(fault: FaultSpec, when: InjectWhen = {}): FaultHandle {
    validateFault(fault);
    const probability = when.probability ?? 1;
    if (!(probability >= 0 && probability <= 1)) throw new RangeError('probability must be within [0, 1]');
    const times = when.times ?? Infinity;
    if (!(times >= 0)) throw new RangeError('times must be ≥ 0');
    const item: Injected = {
      fault,
      times,
      probability,
      match: when.match,
      paths: when.paths ?? ['/v1/messages'],
      rng: new SeededRandom(deriveSeed(this.seed, `inject#${this.injections++}`)),
      hits: 0,
      removed: false,
    };
    this.injected.push(item);
    const remove = (): void => {
      item.removed = true;
      this.injected = this.injected.filter((i) => i !== item);
    };
    return {
      remove,
      get hits(): number {
        return item.hits;
      },
      get active(): boolean {
        return !item.removed && item.hits < item.times;
      },
    };
  }

  schedule(entries: ReadonlyArray<FaultSpec | 'ok'>): ScheduleHandle {
    for (const e of entries) if (e !== 'ok') validateFault(e);
    const owner = {};
    for (const entry of entries) this.scheduled.push({ entry, owner });
    const remaining = (): number => this.scheduled.filter((s) => s.owner === owner).length;
    const cancel = (): void => {
      this.scheduled = this.scheduled.filter((s) => s.owner !== owner);
    };
    return {
      get remaining(): number {
        return remaining();
      },
      cancel,
    };
  }

  outage(fault: FaultSpec, durationMs: number | undefined): OutageHandle {
    validateFault(fault);
    const outage: Outage = {
      fault,
      endsAt: durationMs === undefined ? Infinity : this.clock() + durationMs,
      ended: false,
    };
    this.outages.push(outage);
    const end = (): void => {
      outage.ended = true;
      this.outages = this.outages.filter((o) => o !== outage);
    };
    const active = (): boolean => !outage.ended && this.clock() < outage.endsAt;
    return {
      end,
      get active(): boolean {
        return active();
      },
    };
  }

  clear(): void {
    for (const item of this.injected) item.removed = true;
    for (const outage of this.outages) outage.ended = true;
    this.injected = [];
    this.scheduled = [];
    this.outages = [];
  }

  /** Whether nothing is registered (fast path). */
  get empty(): boolean {
    return this.injected.length === 0 && this.scheduled.length === 0 && this.outages.length === 0;
  }

  /**
   * Picks the fault for a request, consuming schedule entries / `times` / probability draws.
   *
   * @param req - The request.
   * @param isMessages - Whether it is `POST /v1/messages` (the schedule's scope).
   */
  select(req: FaultMatchRequest, isMessages: boolean): FaultDecision {
    if (this.outages.length > 0) {
      const now = this.clock();
      this.outages = this.outages.filter((o) => !o.ended && now < o.endsAt);
      const outage = this.outages[this.outages.length - 1];
      if (outage !== undefined) {
        // A stream-only fault cannot apply to a non-streaming request: it is answered normally.
        return isStreamFault(outage.fault) && !req.stream ? {} : { fault: outage.fault };
      }
    }
    if (isMessages && this.scheduled.length > 0) {
      const next = this.scheduled.shift()!.entry;
      if (next === 'ok') return {};
      return isStreamFault(next) && !req.stream ? {} : { fault: next };
    }
    for (const item of this.injected) {
      if (item.removed || item.hits >= item.times) continue;
      if (!pathMatches(item.paths, req.path)) continue;
      if (isStreamFault(item.fault) && !req.stream) continue;
      if (item.match !== undefined && !item.match(req)) continue;
      if (item.probability < 1 && !(item.rng.next() < item.probability)) continue;
      item.hits++;
      if (item.hits >= item.times) this.injected = this.injected.filter((i) => i !== item);
      return { fault: item.fault };
    }
    return {};
  }
}
