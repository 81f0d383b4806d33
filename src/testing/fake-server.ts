/**
 * {@link FakeAnthropicServer}: an in-process HTTP server that speaks the Anthropic API's wire
 * format, for tests, demos and benchmarks. See the package's `resilient-claude/testing` entry.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';
import type { MessageBatchResult } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Message } from '@anthropic-ai/sdk/resources/messages/messages';
import {
  batchConfig,
  BatchStore,
  chosenResult,
  erroredResult,
  parseBatchCreate,
  type BatchConfig,
  type BatchItemInput,
  type BatchRequestInput,
} from './batches';
import { buildMessage, buildUsage, planOutput, type MessageCreateBody, type OutputPlan } from './completion';
import {
  defaultErrorMessage,
  faults,
  FaultRegistry,
  type FaultHandle,
  type FaultMatchRequest,
  type FaultSpec,
  type InjectWhen,
  type OutageHandle,
  type OutageOptions,
  type ScheduleHandle,
  type StatusFault,
  type StreamFault,
} from './faults';
import { deriveSeed, FAKE_ORGANIZATION_ID, IdGenerator, SeededRandom } from './ids';
import { DEFAULT_MODEL_ALIASES, DEFAULT_MODEL_IDS, modelInfo, paginate } from './models';
import { PromptCache, type CachePlan } from './prompt-cache';
import { RateLimiter, type RateLimits, type Reservation } from './rate-buckets';
import { sseEvent, streamParts } from './sse';
import { countInputTokens, promptPieces } from './tokens';
import type {
  FakeAnthropicOptions,
  FakeBatchRecord,
  FakeServerStats,
  RequestOutcome,
  RequestRecord,
  ServedUsage,
} from './types';
import { asMessageBody, validateMessageBody } from './validation';

type Headers = Record<string, string>;

/** Per-request state while it is being handled. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly bodyError: boolean;
  /** The outcome has been decided (so a close is not an "abort"). */
  decided: boolean;
  /** The connection closed. */
  closed: boolean;
  /** Stats have been updated for this record. */
  finalized: boolean;
  reservation?: Reservation;
  /** The buckets the reservation was taken from. */
  limiter?: RateLimiter;
  /** Output tokens streamed so far (for the refund if the client leaves early). */
  emittedOutput: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function emptyUsage(): ServedUsage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0 };
}

function emptyStats(): FakeServerStats {
  return {
    requests: 0,
    byStatus: {},
    byOutcome: {},
    rateLimited: 0,
    faulted: 0,
    served: emptyUsage(),
    servedResponses: 0,
  };
}

function errorBody(type: string, message: string, requestId: string | null, errorCode?: string): unknown {
  return {
    type: 'error',
    error: { type, message, ...(errorCode !== undefined ? { details: { error_code: errorCode } } : {}) },
    request_id: requestId,
  };
}

function apiKeyOf(headers: Headers): string | undefined {
  const auth = headers['authorization'];
  if (auth !== undefined) {
    const m = /^bearer\s+(.+)$/i.exec(auth.trim());
    if (m !== null && m[1] !== undefined && m[1] !== '') return m[1];
  }
  const key = headers['x-api-key'];
  return key !== undefined && key !== '' ? key : undefined;
}

const BATCH_PATH = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/;
const MODEL_PATH = /^\/v1\/models\/([^/]+)$/;

/**
 * A fake Anthropic API server for tests: faithful wire format (JSON and SSE), deterministic
 * answers, token counting, prompt-cache simulation, continuous token-bucket rate limits with the
 * real headers, message batches, a model catalogue, fault injection, and a ledger of every request.
 *
 * The default path uses no timers: a request is answered in the same tick its body arrives, so a
 * 100k-call soak run is cheap (combine with `recordBodies: false` / `ledgerLimit`).
 *
 * Request handling order: fault (outage → schedule → injected) → API key → validation → model →
 * rate buckets → answer. Faults thus take precedence over everything, and rate limiting over success.
 *
 * @example
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * import { FakeAnthropicServer, faults } from 'resilient-claude/testing';
 *
 * const server = await FakeAnthropicServer.start({ rateLimits: { rpm: 50 } });
 * const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key' });
 * server.inject(faults.overloaded(), { times: 1 });
 * const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
 * console.log(server.stats().served, server.ledger.length);
 * await server.close();
 * ```
 */
export class FakeAnthropicServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly clock: () => number;
  private readonly seed: number;
  private readonly ids: IdGenerator;
  private readonly latencyRng: SeededRandom;
  private readonly faultRegistry: FaultRegistry;
  private readonly cache: PromptCache;
  private readonly batches: BatchStore;
  private readonly batchConfig: BatchConfig;
  private readonly aliases: Readonly<Record<string, string>>;
  private readonly modelSet: ReadonlySet<string> | undefined;
  private readonly catalogue: ReturnType<typeof modelInfo>[];
  private readonly acceptedKeys: Set<string> | undefined;
  private readonly revokedKeys = new Set<string>();
  private readonly recordBodies: boolean;
  private readonly ledgerLimit: number;
  private readonly headersMs: number | [number, number];
  private readonly perDeltaMs: number;
  private readonly outputTokens: FakeAnthropicOptions['outputTokens'];
  private rateLimits: RateLimits | undefined;
  /** Buckets by model (or one set under '' with `scope: 'organization'`). */
  private readonly limiters = new Map<string, RateLimiter>();
  private records: RequestRecord[] = [];
  private counters: FakeServerStats = emptyStats();
  private seq = 0;
  private baseUrl = '';
  private listeningPort = 0;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: FakeAnthropicOptions) {
    this.clock = options.clock ?? Date.now;
    this.seed = options.seed ?? 1;
    this.ids = new IdGenerator(this.seed);
    this.latencyRng = new SeededRandom(deriveSeed(this.seed, 'latency'));
    this.faultRegistry = new FaultRegistry(this.seed, this.clock);
    this.cache = new PromptCache(options.cacheMinTokens ?? 0);
    this.batchConfig = batchConfig(options);
    this.batches = new BatchStore(this.batchConfig, (id) => `${this.baseUrl}/v1/messages/batches/${id}/results`);
    this.aliases = options.modelAliases ?? DEFAULT_MODEL_ALIASES;
    this.modelSet = options.models !== undefined ? new Set(options.models) : undefined;
    this.catalogue = (options.models ?? DEFAULT_MODEL_IDS).map((id, i) => modelInfo(id, i));
    this.acceptedKeys = options.apiKeys !== undefined ? new Set(options.apiKeys) : undefined;
    this.recordBodies = options.recordBodies ?? true;
    this.ledgerLimit = options.ledgerLimit ?? Infinity;
    if (!(this.ledgerLimit >= 0)) throw new RangeError('ledgerLimit must be ≥ 0');
    this.headersMs = options.latency?.headersMs ?? 0;
    this.perDeltaMs = options.latency?.perDeltaMs ?? 0;
    this.outputTokens = options.outputTokens;
    this.rateLimits = options.rateLimits;
    if (this.rateLimits !== undefined) new RateLimiter(this.rateLimits, this.clock()); // validates now
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /**
   * Starts a server and waits until it is listening.
   *
   * @param options - See {@link FakeAnthropicOptions}; all optional.
   * @returns The running server; pass {@link FakeAnthropicServer.url} as the SDK's `baseURL`.
   */
  static async start(options: FakeAnthropicOptions = {}): Promise<FakeAnthropicServer> {
    // `this`, not the class by name: a class that names itself is renamed in the bundle (tsup.config.mts).
    const fake = new this(options);
    await fake.listen();
    return fake;
  }

  private listen(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        this.listeningPort = typeof address === 'object' && address !== null ? address.port : 0;
        this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${this.listeningPort}`;
        resolve();
      });
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:53121` — pass it as the SDK's `baseURL`. */
  get url(): string {
    return this.baseUrl;
  }

  /** The port the server listens on. */
  get port(): number {
    return this.listeningPort;
  }

  /**
   * Every request received, in arrival order (the last `ledgerLimit` of them). Records are live:
   * a request still in flight has `status` 0 until its headers are sent.
   */
  get ledger(): readonly Readonly<RequestRecord>[] {
    if (this.records.length > this.ledgerLimit) {
      this.records = this.ledgerLimit === 0 ? [] : this.records.slice(-this.ledgerLimit);
    }
    return this.records;
  }

  /**
   * Exact counters since start or the last {@link FakeAnthropicServer.resetLedger}, independent of
   * `ledgerLimit`. `byStatus`/`byOutcome` count requests whose exchange has finished (a hung request
   * is counted when its connection closes). See {@link FakeServerStats.served} for what "served" means.
   */
  stats(): FakeServerStats {
    const c = this.counters;
    return {
      requests: c.requests,
      byStatus: { ...c.byStatus },
      byOutcome: { ...c.byOutcome },
      rateLimited: c.rateLimited,
      faulted: c.faulted,
      served: { ...c.served },
      servedResponses: c.servedResponses,
    };
  }

  /**
   * Injects a fault for matching requests (by default every `POST /v1/messages`; other endpoints
   * only if `when.paths` names them). Stream-only faults (`sseError`, `cutStream`,
   * `truncateStream`) only match streaming requests. Injected faults are checked in injection
   * order; the first that matches applies.
   *
   * @param fault - What to do (build it with {@link faults}).
   * @param when - `times`, seeded `probability`, `match` predicate, `paths`.
   * @returns A handle to remove the fault and read its hit count.
   */
  inject(fault: FaultSpec, when?: InjectWhen): FaultHandle {
    return this.faultRegistry.inject(fault, when);
  }

  /**
   * Gives the next N `POST /v1/messages` requests these faults, in order; `'ok'` lets one through
   * normally (no injected fault is consulted for it). Scheduled entries take precedence over
   * injected faults. A stream-only entry that meets a non-streaming request is used up and that
   * request is answered normally.
   *
   * @param entries - Faults or `'ok'`.
   */
  schedule(...entries: Array<FaultSpec | 'ok'>): ScheduleHandle {
    return this.faultRegistry.schedule(entries);
  }

  /**
   * Starts an outage: **every** request (all paths) gets `fault` until `end()` is called or
   * `durationMs` has passed on the server clock. Outages take precedence over the schedule and
   * injected faults; the most recent active outage wins. A stream-only outage fault leaves
   * non-streaming requests alone.
   *
   * @param fault - Default {@link faults.unavailable} (503).
   * @param opts - `durationMs`.
   */
  outage(fault: FaultSpec = faults.unavailable(), opts: OutageOptions = {}): OutageHandle {
    return this.faultRegistry.outage(fault, opts.durationMs);
  }

  /**
   * Changes the rate limits mid-run. A dimension that stays configured keeps its fill ratio (a
   * bucket 25% full stays 25% full of the new capacity); a newly configured one starts full; `null`
   * (or a dimension left out) removes limits, and with no limits left no ratelimit headers are sent.
   * Output reservations of in-flight requests are refunded to the current bucket.
   *
   * @param limits - New limits, or `null` for unlimited.
   */
  setRateLimits(limits: RateLimits | null): void {
    if (limits === null) {
      this.rateLimits = undefined;
      this.limiters.clear();
      return;
    }
    const now = this.clock();
    new RateLimiter(limits, now); // validates before anything changes
    this.rateLimits = limits;
    for (const limiter of this.limiters.values()) limiter.set(limits, now);
  }

  /** The buckets a request for `model` draws from, created full on first use. */
  private limiterFor(model: string): RateLimiter | undefined {
    const limits = this.rateLimits;
    if (limits === undefined) return undefined;
    const key = limits.scope === 'organization' ? '' : model;
    let limiter = this.limiters.get(key);
    if (limiter === undefined) {
      limiter = new RateLimiter(limits, this.clock());
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  /**
   * Makes a key fail with 401 from now on.
   *
   * @param key - The API key.
   */
  revokeKey(key: string): void {
    this.revokedKeys.add(key);
    this.acceptedKeys?.delete(key);
  }

  /**
   * Accepts a key (again) from now on — undoes {@link FakeAnthropicServer.revokeKey}, or adds a
   * key to the `apiKeys` list.
   *
   * @param key - The API key.
   */
  addKey(key: string): void {
    this.revokedKeys.delete(key);
    this.acceptedKeys?.add(key);
  }

  /** Removes every injected fault, scheduled entry and outage. */
  clearFaults(): void {
    this.faultRegistry.clear();
  }

  /**
   * Every message batch created so far, oldest first — deleted ones included — with its
   * `custom_id`s in submission order and whether it was cancelled or deleted. Not cleared by
   * {@link FakeAnthropicServer.resetLedger}.
   */
  batchesCreated(): FakeBatchRecord[] {
    return this.batches.records();
  }

  /** Clears the ledger and resets {@link FakeAnthropicServer.stats} to zero. */
  resetLedger(): void {
    this.records = [];
    this.counters = emptyStats();
  }

  /** Drops every prompt-cache entry. */
  clearPromptCache(): void {
    this.cache.clear();
  }

  /**
   * Stops the server: clears pending timers and destroys every socket, including hung requests and
   * open streams, so it resolves promptly. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closing = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  // ----------------------------------------------------------------------------------------------
  // Request plumbing

  private later(ms: number, fn: () => void): void {
    if (this.closing !== undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.closing !== undefined) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => this.handle(req, res, chunks));
  }

  private pushRecord(record: RequestRecord): void {
    this.records.push(record);
    const limit = this.ledgerLimit;
    if (this.records.length > limit * 2 + 1024) this.records = limit === 0 ? [] : this.records.slice(-limit);
  }

  private handle(req: IncomingMessage, res: ServerResponse, chunks: Buffer[]): void {
    const now = this.clock();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const headers: Headers = {};
    for (const name in req.headers) {
      const v = req.headers[name];
      if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    let body: unknown;
    let bodyError = false;
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        bodyError = true;
      }
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const model = isRecord(body) && typeof body['model'] === 'string' ? body['model'] : undefined;
    const stream = isRecord(body) && body['stream'] === true;
    const apiKey = apiKeyOf(headers);
    const retryHeader = headers['x-stainless-retry-count'];
    const retryCount = retryHeader !== undefined && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined;

    const record: RequestRecord = {
      seq: ++this.seq,
      requestId: this.ids.requestId(),
      at: now,
      method,
      path,
      headers,
      stream,
      status: 0,
      outcome: 'ok',
    };
    if (this.recordBodies && body !== undefined) record.body = body;
    if (model !== undefined) record.model = model;
    if (apiKey !== undefined) record.apiKey = apiKey;
    if (retryCount !== undefined) record.retryCount = retryCount;
    this.pushRecord(record);
    this.counters.requests++;

    const ex: Exchange = {
      req,
      res,
      record,
      query,
      body,
      bodyError,
      decided: false,
      closed: false,
      finalized: false,
      emittedOutput: 0,
    };
    res.on('close', () => this.onClose(ex));

    try {
      let fault: FaultSpec | undefined;
      if (!this.faultRegistry.empty) {
        const matchReq: FaultMatchRequest = { method, path, model, stream, apiKey, body, headers, retryCount };
        fault = this.faultRegistry.select(matchReq, method === 'POST' && path === '/v1/messages').fault;
      }
      if (fault !== undefined) record.fault = fault.kind;
      switch (fault?.kind) {
        case 'reset':
          this.decide(ex, 'fault');
          this.finalize(ex);
          req.socket.destroy();
          return;
        case 'hang':
          this.decide(ex, 'fault');
          return;
        case 'slowHeaders':
          this.later(fault.delayMs, () => this.afterLatency(ex, undefined));
          return;
        default:
          this.afterLatency(ex, fault);
      }
    } catch (err) {
      this.internalError(ex, err);
    }
  }

  private afterLatency(ex: Exchange, fault: StatusFault | StreamFault | undefined): void {
    const h = this.headersMs;
    const delay = typeof h === 'number' ? h : h[0] + this.latencyRng.next() * (h[1] - h[0]);
    if (delay > 0) {
      this.later(delay, () => this.safeRoute(ex, fault));
    } else {
      this.safeRoute(ex, fault);
    }
  }

  private safeRoute(ex: Exchange, fault: StatusFault | StreamFault | undefined): void {
    if (ex.closed) return;
    try {
      this.route(ex, fault);
    } catch (err) {
      this.internalError(ex, err);
    }
  }

  private internalError(ex: Exchange, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (ex.res.headersSent) {
      ex.req.socket.destroy();
      return;
    }
    this.sendError(ex, 500, 'api_error', `fake server error: ${message}`, 'fault');
  }

  private decide(ex: Exchange, outcome: RequestOutcome): void {
    ex.decided = true;
    ex.record.outcome = outcome;
  }

  private onClose(ex: Exchange): void {
    ex.closed = true;
    if (ex.reservation !== undefined && ex.limiter !== undefined) {
      ex.limiter.release(ex.reservation, ex.emittedOutput, this.clock());
    }
    if (!ex.decided) this.decide(ex, 'aborted');
    this.finalize(ex);
  }

  private finalize(ex: Exchange): void {
    if (ex.finalized) return;
    ex.finalized = true;
    const r = ex.record;
    const c = this.counters;
    const status = String(r.status);
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    c.byOutcome[r.outcome] = (c.byOutcome[r.outcome] ?? 0) + 1;
    if (r.outcome === 'rate_limited') c.rateLimited++;
    if (r.fault !== undefined) c.faulted++;
    if (r.served !== undefined) {
      const s = c.served;
      s.inputTokens += r.served.inputTokens;
      s.outputTokens += r.served.outputTokens;
      s.cacheReadTokens += r.served.cacheReadTokens;
      s.cacheWrite5mTokens += r.served.cacheWrite5mTokens;
      s.cacheWrite1hTokens += r.served.cacheWrite1hTokens;
      c.servedResponses++;
    }
  }

  private baseHeaders(ex: Exchange, contentType: string): Headers {
    return {
      // From the server's own clock (an injected one included), so `date` and `reset` agree.
      date: new Date(this.clock()).toUTCString(),
      'request-id': ex.record.requestId,
      'anthropic-organization-id': FAKE_ORGANIZATION_ID,
      'content-type': contentType,
    };
  }

  private sendJson(
    ex: Exchange,
    status: number,
    payload: unknown,
    outcome: RequestOutcome,
    extraHeaders?: Headers,
    served?: ServedUsage,
  ): void {
    if (ex.closed) return;
    this.decide(ex, outcome);
    const text = JSON.stringify(payload);
    ex.res.writeHead(status, {
      ...this.baseHeaders(ex, 'application/json'),
      'content-length': String(Buffer.byteLength(text)),
      ...extraHeaders,
    });
    ex.record.status = status;
    if (served !== undefined) ex.record.served = served;
    ex.res.end(text);
    this.finalize(ex);
  }

  private sendError(
    ex: Exchange,
    status: number,
    errorType: string,
    message: string,
    outcome: RequestOutcome,
    extraHeaders?: Headers,
    errorCode?: string,
  ): void {
    this.sendJson(ex, status, errorBody(errorType, message, ex.record.requestId, errorCode), outcome, extraHeaders);
  }

  private route(ex: Exchange, fault: StatusFault | StreamFault | undefined): void {
    if (fault?.kind === 'status') {
      this.sendError(
        ex,
        fault.status,
        fault.errorType,
        fault.message ?? defaultErrorMessage(fault.errorType, fault.status),
        'fault',
        fault.headers,
        fault.errorCode,
      );
      return;
    }
    const key = ex.record.apiKey;
    if (key === undefined || this.revokedKeys.has(key) || (this.acceptedKeys !== undefined && !this.acceptedKeys.has(key))) {
      this.sendError(
        ex,
        401,
        'authentication_error',
        key === undefined ? 'x-api-key header is required' : 'invalid x-api-key',
        'auth_error',
      );
      return;
    }
    const { method, path } = ex.record;
    if (path === '/v1/messages' && method === 'POST') return this.handleMessages(ex, fault);
    if (path === '/v1/messages/count_tokens' && method === 'POST') return this.handleCountTokens(ex);
    if (path === '/v1/models' && method === 'GET') return this.handleModelList(ex);
    if (path === '/v1/messages/batches') {
      if (method === 'POST') return this.handleBatchCreate(ex);
      if (method === 'GET') return this.handleBatchList(ex);
    }
    const modelMatch = MODEL_PATH.exec(path);
    if (modelMatch !== null && method === 'GET') return this.handleModelGet(ex, decodeURIComponent(modelMatch[1]!));
    const batchMatch = BATCH_PATH.exec(path);
    if (batchMatch !== null) {
      const id = decodeURIComponent(batchMatch[1]!);
      const sub = batchMatch[2];
      if (sub === undefined && method === 'GET') return this.handleBatchGet(ex, id);
      if (sub === undefined && method === 'DELETE') return this.handleBatchDelete(ex, id);
      if (sub === '/cancel' && method === 'POST') return this.handleBatchCancel(ex, id);
      if (sub === '/results' && method === 'GET') return this.handleBatchResults(ex, id);
    }
    this.sendError(ex, 404, 'not_found_error', `Not found: ${method} ${path}`, 'not_found');
  }

  // ----------------------------------------------------------------------------------------------
  // Messages

  private modelKnown(model: string): boolean {
    if (this.modelSet === undefined) return true;
    if (this.modelSet.has(model)) return true;
    const target = this.aliases[model];
    return target !== undefined && this.modelSet.has(target);
  }

  /** Validates a messages body; sends the error and returns undefined when invalid. */
  private validMessageBody(ex: Exchange, requireMaxTokens: boolean): MessageCreateBody | undefined {
    if (ex.bodyError || ex.body === undefined) {
      this.sendError(ex, 400, 'invalid_request_error', 'body: Invalid JSON in request body', 'invalid');
      return undefined;
    }
    const problem = validateMessageBody(ex.body, requireMaxTokens);
    if (problem !== undefined) {
      this.sendError(ex, 400, 'invalid_request_error', problem, 'invalid');
      return undefined;
    }
    const body = asMessageBody(ex.body);
    if (!this.modelKnown(body.model)) {
      this.sendError(ex, 404, 'not_found_error', `model: ${body.model}`, 'not_found');
      return undefined;
    }
    return body;
  }

  private answer(body: MessageCreateBody, now: number): { plan: CachePlan; output: OutputPlan; model: string } {
    const model = this.aliases[body.model] ?? body.model;
    const plan = this.cache.plan(model, promptPieces(body), now);
    const output = planOutput(body, this.seed, this.outputTokens);
    return { plan, output, model };
  }

  private buildFinal(
    body: MessageCreateBody,
    model: string,
    plan: CachePlan,
    output: OutputPlan,
    tier: 'standard' | 'batch',
  ): Message {
    const usage = buildUsage(
      { input: plan.input, output: output.tokens, cacheRead: plan.cacheRead, write5m: plan.write5m, write1h: plan.write1h },
      body,
      tier,
    );
    const toolUseId = output.toolName !== undefined ? this.ids.toolUseId() : undefined;
    return buildMessage(this.ids.messageId(), model, output, usage, toolUseId);
  }

  private handleMessages(ex: Exchange, fault: StreamFault | undefined): void {
    const body = this.validMessageBody(ex, true);
    if (body === undefined) return;
    const now = this.clock();
    const { plan, output, model } = this.answer(body, now);

    if (fault !== undefined && body.stream === true) {
      // Stream faults bypass the rate buckets and leave the prompt cache untouched.
      const message = this.buildFinal(body, model, plan, output, 'standard');
      this.decide(ex, 'fault');
      this.sendStream(ex, message, output, {}, fault);
      return;
    }

    let rateHeaders: Headers = {};
    const limiter = this.limiterFor(model);
    if (limiter !== undefined && limiter.active) {
      const inputNeed = limiter.cacheAwareInput ? plan.total - plan.cacheRead : plan.total;
      const admission = limiter.admit({ inputTokens: inputNeed, maxOutputTokens: body.max_tokens }, now);
      if (!admission.ok) {
        this.sendError(ex, 429, 'rate_limit_error', admission.message, 'rate_limited', {
          ...limiter.headers(now),
          'retry-after': String(admission.retryAfterS),
        });
        return;
      }
      ex.reservation = admission.reservation;
      ex.limiter = limiter;
      rateHeaders = limiter.headers(now);
    }
    this.cache.commit(plan, now);
    const message = this.buildFinal(body, model, plan, output, 'standard');
    const served: ServedUsage = {
      inputTokens: plan.input,
      outputTokens: output.tokens,
      cacheReadTokens: plan.cacheRead,
      cacheWrite5mTokens: plan.write5m,
      cacheWrite1hTokens: plan.write1h,
    };
    if (body.stream === true) {
      this.decide(ex, 'ok');
      this.sendStream(ex, message, output, rateHeaders, undefined, served);
      return;
    }
    this.sendJson(ex, 200, message, 'ok', rateHeaders, served);
    this.release(ex, output.tokens);
  }

  private release(ex: Exchange, actualOutput: number): void {
    if (ex.reservation !== undefined && ex.limiter !== undefined) {
      ex.limiter.release(ex.reservation, actualOutput, this.clock());
    }
  }

  private sendStream(
    ex: Exchange,
    message: Message,
    output: OutputPlan,
    extraHeaders: Headers,
    fault: StreamFault | undefined,
    served?: ServedUsage,
  ): void {
    if (ex.closed) return;
    const parts = streamParts(message, output);
    const res = ex.res;
    res.writeHead(200, {
      ...this.baseHeaders(ex, 'text/event-stream; charset=utf-8'),
      'cache-control': 'no-cache',
      ...extraHeaders,
    });
    ex.record.status = 200;
    const deltaCount = fault === undefined ? parts.deltas.length : Math.min(fault.afterDeltas, parts.deltas.length);
    const tokensPerDelta = output.toolName !== undefined ? output.tokens : 1;

    const finish = (pending: string): void => {
      if (fault === undefined) {
        if (served !== undefined) ex.record.served = served;
        res.end(pending + parts.tail);
        this.release(ex, output.tokens);
        this.finalize(ex);
        return;
      }
      switch (fault.kind) {
        case 'sseError': {
          const type = fault.errorType ?? 'overloaded_error';
          const err = errorBody(type, fault.message ?? defaultErrorMessage(type), ex.record.requestId);
          res.end(pending + sseEvent('error', err));
          break;
        }
        case 'truncateStream':
          res.end(pending);
          break;
        case 'cutStream':
          res.write(pending, () => ex.req.socket.destroy());
          break;
      }
      this.finalize(ex);
    };

    if (this.perDeltaMs <= 0) {
      let text = parts.head;
      for (let i = 0; i < deltaCount; i++) text += parts.deltas[i]!;
      ex.emittedOutput = deltaCount * tokensPerDelta;
      finish(text);
      return;
    }
    res.write(parts.head);
    let sent = 0;
    const step = (): void => {
      if (ex.closed) return;
      const delta = parts.deltas[sent++]!;
      ex.emittedOutput = sent * tokensPerDelta;
      if (sent >= deltaCount) finish(delta);
      else {
        res.write(delta);
        this.later(this.perDeltaMs, step);
      }
    };
    if (deltaCount === 0) finish('');
    else this.later(this.perDeltaMs, step);
  }

  private handleCountTokens(ex: Exchange): void {
    const body = this.validMessageBody(ex, false);
    if (body === undefined) return;
    this.sendJson(ex, 200, { input_tokens: countInputTokens(body) }, 'ok');
  }

  // ----------------------------------------------------------------------------------------------
  // Models

  private handleModelList(ex: Exchange): void {
    const wanted = [...ex.query.getAll('lifecycle[]'), ...ex.query.getAll('lifecycle')];
    const items = this.catalogue.filter((m) =>
      wanted.length === 0 ? m.lifecycle !== 'retired' : wanted.includes(m.lifecycle),
    );
    const page = paginate(items, ex.query);
    if (typeof page === 'string') {
      this.sendError(ex, 400, 'invalid_request_error', page, 'invalid');
      return;
    }
    this.sendJson(ex, 200, page, 'ok');
  }

  private handleModelGet(ex: Exchange, id: string): void {
    const target = this.aliases[id];
    const info =
      this.catalogue.find((m) => m.id === id) ??
      (target !== undefined ? this.catalogue.find((m) => m.id === target) : undefined);
    if (info === undefined) {
      this.sendError(ex, 404, 'not_found_error', `model: ${id}`, 'not_found');
      return;
    }
    this.sendJson(ex, 200, info, 'ok');
  }

  // ----------------------------------------------------------------------------------------------
  // Batches

  private batchResult(params: unknown, now: number): MessageBatchResult {
    const problem = validateMessageBody(params, true);
    if (problem !== undefined) return erroredResult('invalid_request_error', problem);
    const body = asMessageBody(params);
    if (body.stream === true) return erroredResult('invalid_request_error', 'stream: batch requests cannot stream');
    if (!this.modelKnown(body.model)) return erroredResult('not_found_error', `model: ${body.model}`);
    const { plan, output, model } = this.answer(body, now);
    this.cache.commit(plan, now);
    return { type: 'succeeded', message: this.buildFinal(body, model, plan, output, 'batch') };
  }

  private handleBatchCreate(ex: Exchange): void {
    if (ex.bodyError || ex.body === undefined) {
      this.sendError(ex, 400, 'invalid_request_error', 'body: Invalid JSON in request body', 'invalid');
      return;
    }
    const requests = parseBatchCreate(ex.body);
    if (typeof requests === 'string') {
      this.sendError(ex, 400, 'invalid_request_error', requests, 'invalid');
      return;
    }
    const now = this.clock();
    const id = this.ids.batchId();
    const items = requests.map((r, index) => this.batchItem(r, index, id, now));
    this.sendJson(ex, 200, this.batches.create(id, items, now), 'ok');
  }

  /** Answers one request of a new batch, or takes the outcome `batches.itemResult` chose. */
  private batchItem(request: BatchRequestInput, index: number, batchId: string, now: number): BatchItemInput {
    const custom_id = request.custom_id;
    const outcome = this.batchConfig.itemResult?.({ customId: custom_id, params: request.params, index, batchId });
    if (outcome === undefined || outcome === 'succeeded') {
      return { custom_id, result: this.batchResult(request.params, now), chosen: outcome !== undefined };
    }
    // Not answered at all, as a request the real API never ran: no message id, no prompt-cache write.
    return { custom_id, result: chosenResult(outcome), chosen: true };
  }

  private handleBatchList(ex: Exchange): void {
    const page = paginate(this.batches.list(this.clock()), ex.query);
    if (typeof page === 'string') {
      this.sendError(ex, 400, 'invalid_request_error', page, 'invalid');
      return;
    }
    this.sendJson(ex, 200, page, 'ok');
  }

  private batchNotFound(ex: Exchange, id: string): void {
    this.sendError(ex, 404, 'not_found_error', `message_batch: ${id} not found`, 'not_found');
  }

  private handleBatchGet(ex: Exchange, id: string): void {
    const batch = this.batches.get(id, this.clock());
    if (batch === undefined) this.batchNotFound(ex, id);
    else this.sendJson(ex, 200, batch, 'ok');
  }

  private handleBatchCancel(ex: Exchange, id: string): void {
    const batch = this.batches.cancel(id, this.clock());
    if (batch === undefined) this.batchNotFound(ex, id);
    else this.sendJson(ex, 200, batch, 'ok');
  }

  private handleBatchDelete(ex: Exchange, id: string): void {
    const result = this.batches.delete(id, this.clock());
    if (result === 'missing') this.batchNotFound(ex, id);
    else if (result === 'not_ended') {
      this.sendError(
        ex,
        400,
        'invalid_request_error',
        `message_batch: ${id} has not ended; cancel it or wait until it has ended before deleting`,
        'invalid',
      );
    } else this.sendJson(ex, 200, { id, type: 'message_batch_deleted' }, 'ok');
  }

  private handleBatchResults(ex: Exchange, id: string): void {
    const jsonl = this.batches.results(id, this.clock());
    if (jsonl === undefined) {
      this.batchNotFound(ex, id);
      return;
    }
    if (jsonl === null) {
      this.sendError(
        ex,
        400,
        'invalid_request_error',
        `message_batch: ${id} has not ended; results are available once processing_status is 'ended'`,
        'invalid',
      );
      return;
    }
    if (ex.closed) return;
    this.decide(ex, 'ok');
    ex.res.writeHead(200, {
      ...this.baseHeaders(ex, 'application/x-jsonl'),
      'content-length': String(Buffer.byteLength(jsonl)),
    });
    ex.record.status = 200;
    ex.res.end(jsonl);
    this.finalize(ex);
  }
}
