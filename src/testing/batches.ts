/**
 * Message Batches state for the fake server.
 *
 * Every request of a batch is answered when the batch is created (deterministically, like a live
 * call, but with `usage.service_tier: 'batch'`, without rate buckets and without faults unless a
 * fault's `paths` names a batch path), unless `batches.itemResult` chose its outcome. What the
 * batch then reports depends only on the server clock: it ends at the first of processing done,
 * cancellation done and expiry (see {@link FakeBatchOptions}), and the ending decides what the
 * requests without a chosen outcome end as. Only ended batches can be deleted.
 *
 * @module
 */
import type {
  MessageBatch,
  MessageBatchErroredResult,
  MessageBatchIndividualResponse,
  MessageBatchResult,
} from '@anthropic-ai/sdk/resources/messages/batches';
import type { ErrorObject } from '@anthropic-ai/sdk/resources/shared';
import type {
  FakeAnthropicOptions,
  FakeBatchItemOutcome,
  FakeBatchOptions,
  FakeBatchRecord,
} from './types';

const DAY_MS = 86_400_000;

interface StoredBatch {
  readonly id: string;
  readonly createdAt: number;
  readonly readyAt: number;
  readonly expiresAt: number;
  canceledAt?: number;
  readonly items: readonly BatchItemInput[];
  /** What {@link BatchStore.records} reports; kept apart so a deleted batch's answers can be freed. */
  readonly record: FakeBatchRecord;
}

/** What ended (or will end) a batch, and when. The cause doubles as the result type it imposes. */
interface Ending {
  readonly at: number;
  readonly cause: 'processed' | 'canceled' | 'expired';
}

type Status = MessageBatch['processing_status'];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A parsed batch creation request. @internal */
export interface BatchRequestInput {
  readonly custom_id: string;
  readonly params: unknown;
}

/**
 * Validates a `POST /v1/messages/batches` body.
 *
 * @param body - The parsed body.
 * @returns The requests, or an error message naming the field.
 * @internal
 */
export function parseBatchCreate(body: unknown): BatchRequestInput[] | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body: Input should be a JSON object';
  const requests = (body as Record<string, unknown>)['requests'];
  if (!Array.isArray(requests)) return 'requests: Field required (a list of {custom_id, params})';
  if (requests.length === 0) return 'requests: at least one request is required';
  const seen = new Set<string>();
  const out: BatchRequestInput[] = [];
  for (let i = 0; i < requests.length; i++) {
    const r: unknown = requests[i];
    if (typeof r !== 'object' || r === null) return `requests.${i}: Input should be an object`;
    const customId = (r as Record<string, unknown>)['custom_id'];
    const params = (r as Record<string, unknown>)['params'];
    if (typeof customId !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(customId)) {
      return `requests.${i}.custom_id: Input should be 1-64 characters of [a-zA-Z0-9_-]`;
    }
    if (seen.has(customId)) return `requests.${i}.custom_id: duplicate custom_id '${customId}'`;
    seen.add(customId);
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return `requests.${i}.params: Input should be an object`;
    }
    out.push({ custom_id: customId, params });
  }
  return out;
}

/** Resolved batch timing and outcome choice. @internal */
export interface BatchConfig {
  readonly processingMs: number;
  readonly expiresAfterMs: number;
  readonly cancelDelayMs: number;
  readonly itemResult: FakeBatchOptions['itemResult'];
}

/**
 * Resolves and validates the batch options (`batches`, and the older `batchProcessingMs`).
 *
 * @throws RangeError naming the option when a duration is out of range; TypeError for an
 *   `itemResult` that is not a function.
 * @internal
 */
export function batchConfig(options: FakeAnthropicOptions): BatchConfig {
  const b = options.batches ?? {};
  const alias = options.batchProcessingMs;
  if (alias !== undefined && !(alias >= 0)) throw new RangeError('batchProcessingMs must be ≥ 0');
  if (alias !== undefined && b.processingMs !== undefined && alias !== b.processingMs) {
    throw new RangeError('batchProcessingMs and batches.processingMs differ; set only batches.processingMs');
  }
  const processingMs = b.processingMs ?? alias ?? 0;
  if (!(processingMs >= 0)) throw new RangeError('batches.processingMs must be ≥ 0');
  const expiresAfterMs = b.expiresAfterMs ?? DAY_MS;
  // Finite, because `expires_at` is always shown as a date.
  if (!(expiresAfterMs > 0 && Number.isFinite(expiresAfterMs))) {
    throw new RangeError('batches.expiresAfterMs must be a finite number > 0');
  }
  const cancelDelayMs = b.cancelDelayMs ?? 0;
  if (!(cancelDelayMs >= 0)) throw new RangeError('batches.cancelDelayMs must be ≥ 0');
  if (b.itemResult !== undefined && typeof b.itemResult !== 'function') {
    throw new TypeError('batches.itemResult must be a function');
  }
  return { processingMs, expiresAfterMs, cancelDelayMs, itemResult: b.itemResult };
}

/**
 * An `errored` batch result, shaped like the real API's (`request_id` is null: the request had no
 * HTTP exchange of its own).
 *
 * @internal
 */
export function erroredResult(type: ErrorObject['type'], message: string): MessageBatchErroredResult {
  return { type: 'errored', error: { type: 'error', error: { type, message }, request_id: null } };
}

/**
 * The result an `itemResult` outcome other than `'succeeded'` stands for.
 *
 * @throws TypeError for a value that is not a {@link FakeBatchItemOutcome} (the test's mistake,
 *   reported as a 500 rather than guessed at).
 * @internal
 */
export function chosenResult(outcome: Exclude<FakeBatchItemOutcome, 'succeeded'>): MessageBatchResult {
  if (outcome === 'expired' || outcome === 'canceled') return { type: outcome };
  const error: unknown = typeof outcome === 'object' && outcome !== null ? outcome.error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { type, message } = error as Record<string, unknown>;
    if (typeof type === 'string' && typeof message === 'string') {
      return erroredResult(type as ErrorObject['type'], message);
    }
  }
  throw new TypeError(
    `batches.itemResult returned ${JSON.stringify(outcome)}; ` +
      `expected undefined, 'succeeded', 'expired', 'canceled' or { error: { type, message } }`,
  );
}

/** A request of a batch being created, with its result. @internal */
export interface BatchItemInput {
  readonly custom_id: string;
  readonly result: MessageBatchResult;
  /** The outcome was chosen by `itemResult` (it stands whatever ends the batch). */
  readonly chosen: boolean;
}

/** Batches of one organization. @internal */
export class BatchStore {
  private readonly batches = new Map<string, StoredBatch>();
  /** Every batch created, deleted ones included, in creation order. */
  private readonly created: FakeBatchRecord[] = [];

  /**
   * @param config - Timing (see {@link batchConfig}).
   * @param resultsUrl - Builds the absolute results URL for a batch id.
   */
  constructor(
    private readonly config: BatchConfig,
    private readonly resultsUrl: (id: string) => string,
  ) {}

  /** Stores a processed batch and returns its view. */
  create(id: string, items: readonly BatchItemInput[], now: number): MessageBatch {
    const batch: StoredBatch = {
      id,
      createdAt: now,
      readyAt: now + this.config.processingMs,
      expiresAt: now + this.config.expiresAfterMs,
      items,
      record: { id, createdAt: now, customIds: items.map((i) => i.custom_id), canceled: false, deleted: false },
    };
    this.batches.set(id, batch);
    this.created.push(batch.record);
    return this.view(batch, now);
  }

  /** Whether a batch exists. */
  has(id: string): boolean {
    return this.batches.has(id);
  }

  /** A batch's current view, or undefined. */
  get(id: string, now: number): MessageBatch | undefined {
    const batch = this.batches.get(id);
    return batch === undefined ? undefined : this.view(batch, now);
  }

  /** All batches, newest first. */
  list(now: number): MessageBatch[] {
    return [...this.batches.values()].reverse().map((b) => this.view(b, now));
  }

  /** Every batch created so far, oldest first, deleted ones included. */
  records(): FakeBatchRecord[] {
    return this.created.map((r) => ({ ...r, customIds: [...r.customIds] }));
  }

  /**
   * Cancels an in-progress batch and answers `canceling`; it has ended `cancelDelayMs` later (or
   * earlier, if processing or expiry comes first). Any other batch is answered unchanged.
   */
  cancel(id: string, now: number): MessageBatch | undefined {
    const batch = this.batches.get(id);
    if (batch === undefined) return undefined;
    if (this.status(batch, now) !== 'in_progress') return this.view(batch, now);
    batch.canceledAt = now;
    batch.record.canceled = true;
    // The real API answers an accepted cancel with `canceling` even when it takes effect at once.
    return this.view(batch, now, 'canceling');
  }

  /**
   * Deletes a batch that has ended.
   *
   * @returns `'deleted'`, `'missing'` or `'not_ended'`.
   */
  delete(id: string, now: number): 'deleted' | 'missing' | 'not_ended' {
    const batch = this.batches.get(id);
    if (batch === undefined) return 'missing';
    if (this.status(batch, now) !== 'ended') return 'not_ended';
    this.batches.delete(id);
    batch.record.deleted = true;
    return 'deleted';
  }

  /** JSONL results of an ended batch, in submission order; `undefined` if missing, `null` if not ended yet. */
  results(id: string, now: number): string | undefined | null {
    const batch = this.batches.get(id);
    if (batch === undefined) return undefined;
    if (this.status(batch, now) !== 'ended') return null;
    let out = '';
    for (const line of this.finalResults(batch)) out += `${JSON.stringify(line)}\n`;
    return out;
  }

  private ending(batch: StoredBatch): Ending {
    let ending: Ending = { at: batch.readyAt, cause: 'processed' };
    if (batch.canceledAt !== undefined) {
      const at = batch.canceledAt + this.config.cancelDelayMs;
      if (at < ending.at) ending = { at, cause: 'canceled' };
    }
    if (batch.expiresAt < ending.at) ending = { at: batch.expiresAt, cause: 'expired' };
    return ending;
  }

  private status(batch: StoredBatch, now: number): Status {
    if (now >= this.ending(batch).at) return 'ended';
    return batch.canceledAt !== undefined ? 'canceling' : 'in_progress';
  }

  private finalResults(batch: StoredBatch): MessageBatchIndividualResponse[] {
    const { cause } = this.ending(batch);
    return batch.items.map((item) => ({
      custom_id: item.custom_id,
      result: item.chosen || cause === 'processed' ? item.result : { type: cause },
    }));
  }

  private view(batch: StoredBatch, now: number, status: Status = this.status(batch, now)): MessageBatch {
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (status === 'ended') {
      for (const r of this.finalResults(batch)) counts[r.result.type]++;
    } else {
      counts.processing = batch.items.length;
    }
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: status,
      request_counts: counts,
      created_at: iso(batch.createdAt),
      expires_at: iso(batch.expiresAt),
      ended_at: status === 'ended' ? iso(this.ending(batch).at) : null,
      cancel_initiated_at: batch.canceledAt !== undefined ? iso(batch.canceledAt) : null,
      archived_at: null,
      results_url: status === 'ended' ? this.resultsUrl(batch.id) : null,
    };
  }
}

/**
 * A clock for the server's `clock` option that runs `factor` times faster than real time from
 * `start`: it returns `start + (Date.now() - start) * factor`. With `factor` 100_000, a batch with
 * `processingMs: 3_600_000` (1 h) ends about 36 ms after it was created, in real time.
 *
 * The server clock drives everything time-based (rate-bucket refill, reset headers, prompt-cache
 * TTLs, outage durations, batch timing, `RequestRecord.at`), so all of it is compressed alike;
 * real-time delays (`latency`, `slowHeaders`) are not.
 *
 * @example
 * ```ts
 * const server = await FakeAnthropicServer.start({
 *   clock: compressedClock(100_000),
 *   batches: { processingMs: 3_600_000 }, // 1 h on the server clock, ~36 ms of real time
 * });
 * ```
 *
 * @param factor - Server milliseconds per real millisecond; finite and > 0 (1 is real time).
 * @param start - The epoch ms at which the clocks agree. Default `Date.now()`.
 * @returns A function returning the compressed time in epoch ms.
 * @throws RangeError when `factor` or `start` is out of range.
 */
export function compressedClock(factor: number, start: number = Date.now()): () => number {
  if (!(factor > 0 && Number.isFinite(factor))) {
    throw new RangeError('compressedClock factor must be a finite number > 0');
  }
  if (!Number.isFinite(start)) throw new RangeError('compressedClock start must be a finite number');
  return () => start + (Date.now() - start) * factor;
}
