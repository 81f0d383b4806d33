/**
 * The `batch` client option: how calls made with `callOptions({ batch: true })` are gathered into
 * Message Batches, and how their batches are watched. Every field is optional; the defaults suit the real
 * API, where a batch takes minutes to hours.
 */
export interface BatchOptions {
  /**
   * Most calls in one batch. A batch is sent as soon as it holds this many. Default 1000 (the API takes
   * up to 100,000 requests or 256 MB per batch).
   */
  maxCalls?: number;
  /**
   * Longest a call waits to be gathered with others before its batch is sent, ms. Default 500: calls
   * issued together travel together, and a lone call is not held up for long.
   */
  maxDelayMs?: number;
  /** First status check after a batch is sent, ms; each later check waits twice as long. Default 1000. */
  pollIntervalMs?: number;
  /** Longest wait between two status checks, ms. Default 60000. */
  maxPollIntervalMs?: number;
  /**
   * With `redis`: how long a process's claim on the batches it sent lasts without renewal, ms (it renews
   * at every status check). After a crash, another process can `resume()` the batches once their claims
   * have lapsed; `close()` releases them at once. Default 120000.
   */
  claimMs?: number;
}

/** {@link BatchOptions} with defaults applied. */
export interface ResolvedBatchOptions {
  readonly maxCalls: number;
  readonly maxDelayMs: number;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly claimMs: number;
}

/** The documented defaults of {@link BatchOptions}. */
export const BATCH_DEFAULTS: ResolvedBatchOptions = Object.freeze({
  maxCalls: 1000,
  maxDelayMs: 500,
  pollIntervalMs: 1000,
  maxPollIntervalMs: 60_000,
  claimMs: 120_000,
});

/** Applies the defaults. */
export function resolveBatchOptions(options: BatchOptions | undefined): ResolvedBatchOptions {
  return {
    maxCalls: options?.maxCalls ?? BATCH_DEFAULTS.maxCalls,
    maxDelayMs: options?.maxDelayMs ?? BATCH_DEFAULTS.maxDelayMs,
    pollIntervalMs: options?.pollIntervalMs ?? BATCH_DEFAULTS.pollIntervalMs,
    maxPollIntervalMs: Math.max(options?.maxPollIntervalMs ?? BATCH_DEFAULTS.maxPollIntervalMs, options?.pollIntervalMs ?? 0),
    claimMs: options?.claimMs ?? BATCH_DEFAULTS.claimMs,
  };
}
