import { ConfigError } from '../errors/config-error';
import type { ClientRuntime } from '../runtime/client-runtime';
import type { RecoveredBatchCall, ResumeOptions } from './batch-queue';

/**
 * `client.batching`: what a client's `batch: true` calls are doing, and the way back to batches an
 * earlier process sent.
 */
export interface Batching {
  /**
   * Calls gathered and not yet sent, batches being watched, and the calls waiting in them (this process
   * only).
   */
  readonly pending: { readonly gathered: number; readonly batches: number; readonly calls: number };
  /**
   * Collects the batches an earlier process sent and never collected — it crashed, or was closed
   * while they ran. Needs `redis`, where pending batches are recorded (else `ConfigError`). A batch
   * claimed by another process is waited for: a crashed process's claim lapses within `batch.claimMs`,
   * and a live one (which renews its claim at every status check) collects the batch itself, which then
   * leaves the store. With `{ wait: false }`, only batches unclaimed and already ended are collected. Each call's result comes back with the `ref`, `tags`,
   * `user` and `model` it was sent with, and is priced in the ledger. Expired or cancelled requests are
   * returned as such, not sent again: their prompts were never stored.
   */
  resume(options?: ResumeOptions): Promise<RecoveredBatchCall[]>;
}

/** The `client.batching` view of a runtime's batch queue. */
export function batchingOf(runtime: ClientRuntime): Batching {
  return {
    get pending() {
      return runtime.batchQueue().pending;
    },
    async resume(options?: ResumeOptions): Promise<RecoveredBatchCall[]> {
      if (!runtime.batchesPersisted) {
        throw new ConfigError('redis', 'a Redis connection or URL: without one, pending batches are not recorded and cannot be resumed');
      }
      return runtime.batchQueue().resume(options);
    },
  };
}
