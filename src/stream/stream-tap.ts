import { IdleTimer } from '../util/idle-timer';
import { joinBytes } from '../util/bytes';
import type { StreamOutcome, StreamResult, UsageTotals } from '../call-state';
import { StreamInterruptedError } from '../errors/stream-interrupted-error';
import { SseBlockSplitter, type SseBlock } from './sse-blocks';

/** How a stream failed before delivering any content. */
export type PreContentKind = 'sse_error' | 'cut' | 'incomplete' | 'stalled';

/**
 * A streaming attempt that failed before any content reached the reader: nothing of value was lost, so
 * the retry layer may send the request again and continue the same stream from the new response.
 * Internal: the retry layer turns it into the final error when it does not retry.
 */
export class PreContentFailure extends Error {
  constructor(
    readonly kind: PreContentKind,
    /** For `sse_error`: the API error type and the event's JSON payload. */
    readonly errorType: string | undefined,
    readonly errorBody: unknown,
    /** Headers of the failed attempt's response (request-id, rate-limit headers). */
    readonly headers: Headers,
    cause?: unknown,
  ) {
    super(`stream failed before content (${kind}${errorType ? `: ${errorType}` : ''})`, { cause });
    this.name = 'PreContentFailure';
  }
}

/** What the start of a stream said: content arrived, it failed before content, or the reader left first. */
export type FirstContent = 'content' | PreContentFailure | 'cancelled';

/**
 * A tapped streaming attempt: a reader of what to hand on (read from the attempt's body on demand), its
 * first content (or failure), and its outcome at the end.
 */
export interface TappedStream {
  /**
   * The next bytes to hand on, read from the attempt's body on demand (it is not locked before the first
   * read). Rejects with a {@link PreContentFailure}, a {@link StreamInterruptedError} or the caller's
   * abort, as a stream reader would; once ended, every later read gives the same end.
   */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Cancels the attempt's body (the reader broke out or aborted). */
  cancel(reason?: unknown): Promise<void>;
  /** Settles at the first content, at a failure before it, or when the reader cancels before it. */
  readonly firstContent: Promise<FirstContent>;
  readonly result: Promise<StreamResult>;
  /**
   * A tap, with the same options, over the response a user middleware handed on instead of this one
   * (say, its own copy of the body). If this tap was never read, its first content and result follow the
   * new one's, so whoever waits on them (breaker, rate limiter, keys) still learns how the attempt went.
   */
  replacedBy(response: Response): TappedStream;
}

/**
 * What the reader already received from earlier attempts of the same call, before they failed: the
 * resumed stream must not repeat it.
 */
export interface DeliveredPrefix {
  messageStart: boolean;
  /** `content_block_start` events passed on, by index, with their block type. */
  readonly blocks: Map<number, string>;
}

/** Options of {@link tapSseResponse}. */
export interface TapOptions {
  /** Longest silence (no byte at all, pings included) while the reader waits; 0 = no limit. */
  readonly idleTimeoutMs: number;
  /** Builds the SDK's error for an SSE `error` event's payload (the cause of the interruption). */
  readonly eventError?: (payload: unknown, headers: Headers) => Error;
  /** How long the reader may wait for the first content before the attempt counts as stalled; 0 = no limit. */
  readonly firstContentTimeoutMs: number;
  /** What earlier attempts delivered (updated as this one delivers its pre-content events). */
  readonly delivered: DeliveredPrefix;
  /** Called once, when content is first committed to the reader. */
  readonly onCommit?: () => void;
}

/**
 * The bytes around a delta's text: `event: content_block_delta\ndata: ` (33), the JSON envelope
 * `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}` (80) and the
 * blank line (2). Counted on bytes, so a delta's data is never parsed just for the estimate.
 */
const DELTA_ENVELOPE_BYTES = 115;
/** Bytes of text per output token, for the estimate of an interrupted stream's output. */
const CHARS_PER_TOKEN = 4;

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Guards one streaming attempt without buffering it: events reach the reader as soon as they are complete,
 * byte for byte. It makes no stream of its own: whoever hands the bytes on (the retry layer's resumable
 * stream) reads them through {@link TappedStream.read}, one hop from the wire. What it adds:
 * - before content is committed (anything beyond `message_start`, `content_block_start` and pings), an
 *   SSE `error` event, a cut socket, an early end or a stall beyond `firstContentTimeoutMs` become a
 *   {@link PreContentFailure} instead of reaching the reader, so the retry layer can resume the stream
 *   from a new attempt, whose repeated `message_start` / `content_block_start` are then dropped;
 * - after that, a cut socket, an end without `message_stop`, silence beyond `idleTimeoutMs` or an SSE
 *   `error` event become a {@link StreamInterruptedError}: never a silently shortened success, never a
 *   hang. Silence before content counts as a stall, which the retry layer may resume from;
 * - it records the whole-message usage (message_start, then message_delta totals, which replace rather
 *   than add) for cost, limits and logs; a stream that dies before its final usage gets its output
 *   estimated from the deltas seen (about 4 characters a token), flagged `outputEstimated`.
 */
export function tapSseResponse(response: Response, options: TapOptions): TappedStream {
  // Locked at the first read, not now: the SDK checks that the response its middleware returns is unread.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const splitter = new SseBlockSplitter();
  const usage: Record<string, unknown> = {};
  let sawUsage = false;
  let sawFinalUsage = false;
  let model: string | undefined;
  let deltas = 0;
  // Bytes of delta payloads seen, for an estimate of the output generated when the stream dies before
  // its final usage (message_delta) arrives.
  let deltaPayload = 0;
  let committed = false;
  const delivered = options.delivered;
  let suppressMessageStart = delivered.messageStart;
  let complete = false;
  let stalled = false;
  let idle = false;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  // Armed only while the reader waits for bytes: a reader that pauses is not a silent server.
  const idleTimer = new IdleTimer(options.idleTimeoutMs, () => {
    idle = true;
    reader?.cancel().catch(() => undefined);
  });
  let pendingFailure: Error | undefined;
  /** How the tap ended for its reader: every read after that gives the same end. */
  let ended: { readonly error: unknown } | 'done' | undefined;
  const fail = (error: unknown): never => {
    ended = { error };
    throw error;
  };
  const done = (): ReadableStreamReadResult<Uint8Array> => {
    ended = 'done';
    return { done: true, value: undefined };
  };

  let settle!: (result: StreamResult) => void;
  const result = new Promise<StreamResult>((resolve) => {
    settle = resolve;
  });
  let started!: (first: FirstContent) => void;
  const firstContent = new Promise<FirstContent>((resolve) => {
    started = resolve;
  });
  let settled = false;
  const finish = (end: StreamOutcome) => {
    if (watchdog) clearTimeout(watchdog);
    idleTimer.stop();
    const preContent = end.outcome === 'failed' ? (end.preContent as PreContentFailure | undefined) : undefined;
    started(preContent ?? (committed ? 'content' : 'cancelled'));
    if (settled) return;
    settled = true;
    let outputEstimated = false;
    if (sawUsage && !sawFinalUsage && deltas > 0) {
      const estimate = Math.ceil(deltaPayload / CHARS_PER_TOKEN);
      if (estimate > num(usage.output_tokens)) {
        usage.output_tokens = estimate;
        outputEstimated = true;
      }
    }
    const totals: UsageTotals | undefined = sawUsage
      ? {
          inputTokens: num(usage.input_tokens),
          outputTokens: num(usage.output_tokens),
          cacheReadTokens: num(usage.cache_read_input_tokens),
          cacheWriteTokens: num(usage.cache_creation_input_tokens),
          raw: { ...usage },
        }
      : undefined;
    settle({ ...end, ...(totals ? { usage: totals } : {}), ...(outputEstimated ? { outputEstimated } : {}), ...(model ? { model } : {}) });
  };

  const mergeUsage = (value: unknown) => {
    if (typeof value !== 'object' || value === null) return;
    sawUsage = true;
    for (const [key, v] of Object.entries(value)) if (v !== null && v !== undefined) usage[key] = v;
  };

  const preContent = (kind: PreContentKind, errorType?: string, errorBody?: unknown, cause?: unknown) => {
    const failure = new PreContentFailure(kind, errorType, errorBody, response.headers, cause);
    finish({ outcome: 'failed', error: failure, preContent: failure });
    return failure;
  };

  const commit = () => {
    if (committed) return;
    committed = true;
    if (watchdog) clearTimeout(watchdog);
    started('content');
    options.onCommit?.();
  };

  /** Decides what to pass on for one block. Returns an error to end the stream with, if any. */
  const route = (block: SseBlock, out: Output): Error | undefined => {
    switch (block.event) {
      case 'content_block_delta':
        commit();
        deltas++;
        deltaPayload += Math.max(0, block.end - block.start - DELTA_ENVELOPE_BYTES);
        out.add(block);
        return undefined;
      case 'message_start': {
        const parsed = safeJson(block.data) as { message?: { model?: unknown; usage?: unknown } } | undefined;
        if (typeof parsed?.message?.model === 'string') model = parsed.message.model;
        mergeUsage(parsed?.message?.usage);
        if (suppressMessageStart) {
          suppressMessageStart = false;
          return undefined;
        }
        delivered.messageStart = true;
        out.add(block);
        return undefined;
      }
      case 'content_block_start': {
        if (committed) {
          out.add(block);
          return undefined;
        }
        // Passed on at once (a reader may be waiting for it), but not yet content: a failure now can still
        // be resumed, provided the new attempt opens the same block, which is then not repeated.
        const parsed = safeJson(block.data) as { index?: unknown; content_block?: { type?: unknown } } | undefined;
        const index = typeof parsed?.index === 'number' ? parsed.index : -1;
        const type = typeof parsed?.content_block?.type === 'string' ? parsed.content_block.type : '';
        const earlier = delivered.blocks.get(index);
        if (earlier === undefined) {
          delivered.blocks.set(index, type);
          out.add(block);
        } else if (earlier !== type) {
          // The retried answer starts differently from what the reader already holds: it cannot be spliced.
          const mismatch = new StreamInterruptedError('incomplete', 0);
          finish({ outcome: 'failed', error: mismatch });
          return mismatch;
        }
        return undefined;
      }
      case 'error': {
        const parsed = safeJson(block.data) as { error?: { type?: unknown } } | undefined;
        const type = typeof parsed?.error?.type === 'string' ? parsed.error.type : 'api_error';
        if (!committed) return preContent('sse_error', type, parsed ?? block.data);
        const cause = options.eventError?.(parsed ?? block.data, response.headers);
        const interrupted = new StreamInterruptedError('error_event', deltas, cause);
        finish({ outcome: 'failed', error: interrupted });
        return interrupted;
      }
      case 'message_delta':
        mergeUsage((safeJson(block.data) as { usage?: unknown } | undefined)?.usage);
        sawFinalUsage = true;
        commit();
        out.add(block);
        return undefined;
      case 'message_stop':
        complete = true;
        commit();
        out.add(block);
        return undefined;
      case 'ping':
      case undefined:
        out.add(block);
        return undefined;
      default:
        commit();
        out.add(block);
        return undefined;
    }
  };

  async function read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (ended === 'done') return { done: true, value: undefined };
    if (ended) throw ended.error;
    if (pendingFailure) fail(pendingFailure);
    reader ??= response.body!.getReader();
    if (!settled) idleTimer.arm();
    if (!committed && !watchdog && options.firstContentTimeoutMs > 0) {
      watchdog = setTimeout(() => {
        stalled = true;
        reader?.cancel().catch(() => undefined);
      }, options.firstContentTimeoutMs);
      watchdog.unref?.();
    }
    try {
      return await pump(reader);
    } finally {
      idleTimer.disarm();
    }
  }

  /** Reads until something can be handed on (or the stream ends or fails). */
  async function pump(source: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadableStreamReadResult<Uint8Array>> {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await source.read();
        idleTimer.touch();
      } catch (error) {
        if (isAbort(error)) {
          // The caller aborted or broke out: let the SDK see its own abort, as it would without us.
          finish({ outcome: 'cancelled' });
          return fail(error);
        }
        if (!committed) return fail(preContent('cut', undefined, undefined, error));
        const interrupted = new StreamInterruptedError('cut', deltas, error instanceof Error ? error : undefined);
        finish({ outcome: 'failed', error: interrupted });
        return fail(interrupted);
      }
      if (chunk.done) {
        if ((stalled || idle) && !committed) return fail(preContent('stalled'));
        if (idle && !complete) {
          const silent = new StreamInterruptedError('idle', deltas);
          finish({ outcome: 'failed', error: silent });
          return fail(silent);
        }
        if (complete) {
          const rest = splitter.remainder();
          finish({ outcome: 'complete' });
          if (rest.length) {
            ended = 'done';
            return { done: false, value: rest };
          }
          return done();
        }
        if (!committed) return fail(preContent('incomplete'));
        const incomplete = new StreamInterruptedError('incomplete', deltas);
        finish({ outcome: 'failed', error: incomplete });
        return fail(incomplete);
      }
      const out = new Output();
      for (const block of splitter.push(chunk.value)) {
        const failure = route(block, out);
        if (failure) {
          await source.cancel().catch(() => undefined);
          // What came before the failure is delivered first; the next read fails.
          const before = out.take();
          if (!before) return fail(failure);
          pendingFailure = failure;
          return { done: false, value: before };
        }
      }
      if (complete) finish({ outcome: 'complete' });
      const bytes = out.take();
      if (bytes) return { done: false, value: bytes };
    }
  }

  return {
    read,
    replacedBy(other: Response): TappedStream {
      const replacement = tapSseResponse(other, options);
      if (!reader && !settled) {
        void replacement.firstContent.then(started);
        void replacement.result.then((end) => {
          if (settled) return;
          settled = true;
          settle(end);
        });
      }
      return replacement;
    },
    cancel(reason?: unknown): Promise<void> {
      finish({ outcome: 'cancelled' });
      return reader ? reader.cancel(reason) : (response.body?.cancel(reason) ?? Promise.resolve());
    },
    firstContent,
    result,
  };
}

/**
 * The bytes to hand on from one chunk's blocks. Adjacent blocks of one buffer (every block, unless one
 * was held back) make a single view of it, neither copied nor split.
 */
class Output {
  readonly #parts: Uint8Array[] = [];
  #source: Uint8Array | undefined;
  #start = 0;
  #end = 0;

  add(block: SseBlock): void {
    if (block.source === this.#source && block.start === this.#end) {
      this.#end = block.end;
      return;
    }
    this.#close();
    this.#source = block.source;
    this.#start = block.start;
    this.#end = block.end;
  }

  /** Everything added, as one array (undefined when nothing was). */
  take(): Uint8Array | undefined {
    this.#close();
    return this.#parts.length ? joinBytes(this.#parts) : undefined;
  }

  #close(): void {
    if (this.#source && this.#end > this.#start) this.#parts.push(this.#source.subarray(this.#start, this.#end));
    this.#source = undefined;
  }
}

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}
