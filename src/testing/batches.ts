/**
 * Message Batches state for the fake server.
 *
 * Every request of a batch is answered when the batch is created (deterministically, like a live
 * call, but with `usage.service_tier: 'batch'`, without rate buckets and without faults unless a
 * fault's `paths` names a batch path). The batch reports `in_progress` until `batchProcessingMs` has
 * passed on the server clock (default 0: `ended` at once), then `ended` with its `results_url`.
 * Cancelling an `in_progress` batch answers `canceling` and the batch is `ended` from then on, every
 * request `canceled`. Only batches that are not `in_progress` can be deleted.
 *
 * @module
 */
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
  MessageBatchResult,
} from '@anthropic-ai/sdk/resources/messages/batches';

const DAY_MS = 86_400_000;

interface StoredBatch {
  readonly id: string;
  readonly createdAt: number;
  readonly readyAt: number;
  canceledAt?: number;
  readonly results: ReadonlyArray<{ readonly custom_id: string; readonly result: MessageBatchResult }>;
}

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

/** Batches of one organization. @internal */
export class BatchStore {
  private readonly batches = new Map<string, StoredBatch>();

  /**
   * @param processingMs - Time until a batch has ended.
   * @param resultsUrl - Builds the absolute results URL for a batch id.
   */
  constructor(
    private readonly processingMs: number,
    private readonly resultsUrl: (id: string) => string,
  ) {}

  /** Stores a processed batch and returns its view. */
  create(
    id: string,
    results: ReadonlyArray<{ custom_id: string; result: MessageBatchResult }>,
    now: number,
  ): MessageBatch {
    const batch: StoredBatch = { id, createdAt: now, readyAt: now + this.processingMs, results };
    this.batches.set(id, batch);
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

  /** Cancels an in-progress batch; answers with the `canceling` view (ended from then on). */
  cancel(id: string, now: number): MessageBatch | undefined {
    const batch = this.batches.get(id);
    if (batch === undefined) return undefined;
    if (this.status(batch, now) !== 'in_progress') return this.view(batch, now);
    batch.canceledAt = now;
    return { ...this.view(batch, now), processing_status: 'canceling', ended_at: null, results_url: null };
  }

  /**
   * Deletes a batch that is not in progress.
   *
   * @returns `'deleted'`, `'missing'` or `'in_progress'`.
   */
  delete(id: string, now: number): 'deleted' | 'missing' | 'in_progress' {
    const batch = this.batches.get(id);
    if (batch === undefined) return 'missing';
    if (this.status(batch, now) === 'in_progress') return 'in_progress';
    this.batches.delete(id);
    return 'deleted';
  }

  /** JSONL results of an ended batch; `undefined` if missing, `null` if not ended yet. */
  results(id: string, now: number): string | undefined | null {
    const batch = this.batches.get(id);
    if (batch === undefined) return undefined;
    if (this.status(batch, now) !== 'ended') return null;
    let out = '';
    for (const line of this.finalResults(batch)) out += `${JSON.stringify(line)}\n`;
    return out;
  }

  private status(batch: StoredBatch, now: number): 'in_progress' | 'ended' {
    return batch.canceledAt !== undefined || now >= batch.readyAt ? 'ended' : 'in_progress';
  }

  private finalResults(batch: StoredBatch): MessageBatchIndividualResponse[] {
    if (batch.canceledAt === undefined) return batch.results.map((r) => ({ custom_id: r.custom_id, result: r.result }));
    return batch.results.map((r) => ({ custom_id: r.custom_id, result: { type: 'canceled' } }));
  }

  private view(batch: StoredBatch, now: number): MessageBatch {
    const status = this.status(batch, now);
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (status === 'in_progress') {
      counts.processing = batch.results.length;
    } else {
      for (const r of this.finalResults(batch)) counts[r.result.type]++;
    }
    const endedAt = batch.canceledAt ?? batch.readyAt;
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: status,
      request_counts: counts,
      created_at: iso(batch.createdAt),
      expires_at: iso(batch.createdAt + DAY_MS),
      ended_at: status === 'ended' ? iso(endedAt) : null,
      cancel_initiated_at: batch.canceledAt !== undefined ? iso(batch.canceledAt) : null,
      archived_at: null,
      results_url: status === 'ended' ? this.resultsUrl(batch.id) : null,
    };
  }
}
