import { ResilientClaudeError } from './resilient-claude-error';

/**
 * Why a batched call got no answer from its batch:
 * - `expired`: the batch ended (24 h) before the request was processed;
 * - `canceled`: the batch was cancelled (by someone else: this client cancels only batches whose every
 *   call has given up) before the request was processed;
 * - `within`: the call's `batch.within` bound passed first;
 * - `closed`: `close()` was called while the call waited. With `redis`, a call that was already sent
 *   can still be collected with `client.batching.resume()` in another (or the next) process;
 * - `missing`: the batch's results did not include the request.
 */
export type BatchCallFailure = 'expired' | 'canceled' | 'within' | 'closed' | 'missing';

type Describe = BatchCallFailure | 'cancelled at close';

/**
 * A call made with `callOptions({ batch: true })` ended without a result from its batch. Expired and
 * cancelled requests have already been sent again once when the call's bound allowed it. Per-request
 * API errors are not this class: they reject with the SDK's own typed error (`BadRequestError`, …).
 */
export class BatchCallError extends ResilientClaudeError {
  /** Why. */
  readonly reason: BatchCallFailure;
  /** The last batch the call travelled in, if it was sent. */
  readonly batchId: string | undefined;
  /** The `custom_id` of the call's request in that batch, if it was sent. */
  readonly customId: string | undefined;
  /** Whether the call's request is in a batch (so its result may still be collected with `resume()`). */
  readonly submitted: boolean;

  constructor(
    reason: BatchCallFailure,
    detail: { batchId?: string | undefined; customId?: string | undefined; cancelled?: boolean },
  ) {
    super('BATCH_CALL_FAILED', describe(detail.cancelled ? 'cancelled at close' : reason, detail.batchId));
    this.reason = reason;
    this.batchId = detail.batchId;
    this.customId = detail.customId;
    this.submitted = detail.batchId !== undefined;
  }
}

/** The message for a reason (not a static method: the class must not name itself, see tsup.config.mts). */
function describe(reason: Describe, batchId: string | undefined): string {
  const where = batchId ? ` in batch ${batchId}` : '';
  switch (reason) {
    case 'expired':
      return `The batched call expired${where} before it was processed (already sent again once, or no time was left).`;
    case 'canceled':
      return `The batch${batchId ? ` ${batchId}` : ''} was cancelled before the call was processed.`;
    case 'within':
      return `The batched call had no result within its batch.within bound${where}.`;
    case 'closed':
      return batchId
        ? `The client was closed while the call waited${where}; with redis, collect it with client.batching.resume().`
        : 'The client was closed before the batched call was sent; nothing was sent or billed.';
    case 'cancelled at close':
      return `The client was closed while the call waited${where}; without redis nobody could collect it, so the batch was cancelled.`;
    case 'missing':
      return `The results of batch ${batchId ?? '?'} did not include the call.`;
  }
}
