import { randomBytes } from 'node:crypto';
import type { Message } from '@anthropic-ai/sdk/resources/messages/messages';
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
  MessageBatchResult,
} from '@anthropic-ai/sdk/resources/messages/batches';
import type { ErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import { BatchCallError } from '../errors/batch-call-error';
import type { EventHub } from '../events';
import type { LogSink } from '../logging';
import type { ResolvedBatchOptions } from '../options/batch-options';
import { abortableSleep } from '../util/timers';
import type { PersistedBatch, PersistedCall, RedisBatchStore } from './redis-batch-store';

/** The Message Batches endpoints the queue uses (the client's own `messages.batches`, marked internal). */
export interface BatchApi {
  create(requests: ReadonlyArray<{ custom_id: string; params: object }>): Promise<MessageBatch>;
  retrieve(batchId: string): Promise<MessageBatch>;
  results(batchId: string): Promise<AsyncIterable<MessageBatchIndividualResponse>>;
  cancel(batchId: string): Promise<MessageBatch>;
}

/** One `batch: true` call handed to the queue. */
export interface BatchCallInput {
  /** The Messages params as they will be sent. */
  readonly params: object;
  /** Aborts the call: dropped before submission, or counted out of its batch after. */
  readonly signal?: AbortSignal | undefined;
  /** `batch.within`, ms. */
  readonly within?: number | undefined;
  readonly ref?: string | undefined;
  readonly model?: string | undefined;
  readonly user?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  /** Size of the params as JSON, bytes: a batch is sent before it would pass the API's 256 MB. */
  readonly bytes?: number | undefined;
}

/**
 * Most request bytes in one batch. The API takes 256 MB per batch; the margin covers each request's
 * `custom_id` wrapper and the multi-byte characters a string length undercounts.
 */
const MAX_BATCH_BYTES = 128 * 1024 * 1024;

/** What a batch answered for one call: the message, or the API's error for that request. */
export type BatchCallResult =
  | { readonly type: 'succeeded'; readonly message: Message; readonly batchId: string; readonly customId: string }
  | { readonly type: 'errored'; readonly error: ErrorResponse; readonly batchId: string; readonly customId: string };

/** A call of an earlier process's batch, collected by `resume()`. */
export interface RecoveredBatchCall extends PersistedCall {
  /** The batch it travelled in. */
  readonly batchId: string;
  /** The API's result for it: `succeeded` (with the `Message`), `errored`, `expired` or `canceled`. */
  readonly result: MessageBatchResult;
}

/** Options of `resume()`. */
export interface ResumeOptions {
  /**
   * Wait for batches still in progress (checking with the client's poll backoff) and for claims held by
   * another process to lapse or be released. Default true; with `false`, only unclaimed batches that have
   * already ended are collected and the others are left for later.
   */
  readonly wait?: boolean;
  /** Stops waiting; batches not yet collected stay pending for a later `resume()`. */
  readonly signal?: AbortSignal;
}

/** Dependencies of the queue. */
export interface BatchQueueDeps {
  readonly events: EventHub;
  readonly log: LogSink;
  /** Pending batches in Redis, with `redis`. */
  readonly store?: RedisBatchStore | undefined;
  /**
   * Prices a result that no call record of this process carries (the ledger): a call collected by
   * `resume()`, or one that gave up after its batch was sent and was processed anyway.
   */
  readonly onRecovered?: (call: RecoveredBatchCall) => void;
}

/** A call waiting in the queue or in a batch. */
interface Waiter {
  readonly input: BatchCallInput;
  /** `performance.now()` by which `within` passes. */
  readonly deadline: number | undefined;
  readonly resolve: (result: BatchCallResult) => void;
  readonly reject: (error: unknown) => void;
  customId: string | undefined;
  batch: LiveBatch | undefined;
  /** Sent again once already (after an expired or cancelled request). */
  resent: boolean;
  done: boolean;
  detach: () => void;
}

/** A batch this process sent and is watching. */
interface LiveBatch {
  readonly id: string;
  readonly startedAt: number;
  readonly calls: Map<string, Waiter>;
  /** Calls in it still waiting for their result. */
  open: number;
  finished: boolean;
  collecting: boolean;
  persisted: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const ZERO_COUNTS = { succeeded: 0, errored: 0, expired: 0, canceled: 0 } as const;

/**
 * Gathers `batch: true` calls into Message Batches and settles each call from its own result.
 *
 * Calls wait here until `maxCalls` have gathered or `maxDelayMs` has passed, then travel as one batch.
 * A batch is checked with a doubling interval until it has ended; then its results are read once and
 * each call resolves with its `Message` or its request's API error. An expired or cancelled request is
 * sent once more in a later batch when the caller's `within` leaves time. A call whose signal aborts (or
 * whose `within` passes) is dropped before submission, or counted out of its batch after — and a batch
 * every call of which has given up is cancelled, so nobody pays for answers nobody waits for.
 *
 * Timers exist only while calls wait, and hold the process open then (as an awaited HTTP request
 * would): a process awaiting a batched call does not exit under it.
 */
export class BatchQueue {
  readonly #options: ResolvedBatchOptions;
  readonly #deps: BatchQueueDeps;
  readonly #api: () => BatchApi;
  readonly #idPrefix = `rc${randomBytes(5).toString('hex')}`;
  #seq = 0;
  #gathered: Waiter[] = [];
  #gatheredBytes = 0;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #live = new Map<string, LiveBatch>();
  readonly #submitting = new Set<Promise<void>>();
  #closed = false;

  /**
   * @param api - The batch endpoints, read when the first batch is sent.
   * @param options - The client's resolved `batch` option.
   * @param deps - Events, log, the Redis store.
   */
  constructor(api: () => BatchApi, options: ResolvedBatchOptions, deps: BatchQueueDeps) {
    this.#api = api;
    this.#options = options;
    this.#deps = deps;
  }

  /** Calls gathered and not yet sent, and batches being watched (for `health()` and tests). */
  get pending(): { readonly gathered: number; readonly batches: number; readonly calls: number } {
    let calls = 0;
    for (const live of this.#live.values()) calls += live.open;
    return { gathered: this.#gathered.length, batches: this.#live.size, calls };
  }

  /** Queues one call; resolves with its batch result, rejects with `BatchCallError` or the abort reason. */
  enqueue(input: BatchCallInput): Promise<BatchCallResult> {
    if (this.#closed) return Promise.reject(new BatchCallError('closed', {}));
    const signal = input.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<BatchCallResult>((resolve, reject) => {
      const waiter: Waiter = {
        input,
        deadline: input.within === undefined ? undefined : performance.now() + input.within,
        resolve,
        reject,
        customId: undefined,
        batch: undefined,
        resent: false,
        done: false,
        detach: () => undefined,
      };
      const onAbort = () => this.#giveUp(waiter, signal!.reason);
      const withinTimer =
        input.within === undefined
          ? undefined
          : setTimeout(() => this.#giveUp(waiter, new BatchCallError('within', { batchId: waiter.batch?.id, customId: waiter.customId })), input.within);
      // The poll or gather timer holds the process while the call waits; this one need not.
      withinTimer?.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.detach = () => {
        signal?.removeEventListener('abort', onAbort);
        if (withinTimer) clearTimeout(withinTimer);
      };
      this.#gather(waiter);
    });
  }

  #gather(waiter: Waiter): void {
    const bytes = waiter.input.bytes ?? 0;
    if (this.#gathered.length > 0 && this.#gatheredBytes + bytes > MAX_BATCH_BYTES) this.#flush();
    this.#gathered.push(waiter);
    this.#gatheredBytes += bytes;
    if (this.#gathered.length >= this.#options.maxCalls || this.#gatheredBytes >= MAX_BATCH_BYTES) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.maxDelayMs);
  }

  #flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const waiting = this.#gathered.filter((w) => !w.done);
    this.#gathered = [];
    this.#gatheredBytes = 0;
    for (const group of this.#groups(waiting)) this.#track(this.#submit(group));
  }

  /** Splits calls into batches of at most `maxCalls` calls and {@link MAX_BATCH_BYTES} bytes. */
  #groups(waiters: readonly Waiter[]): Waiter[][] {
    const groups: Waiter[][] = [];
    let group: Waiter[] = [];
    let bytes = 0;
    for (const waiter of waiters) {
      const size = waiter.input.bytes ?? 0;
      if (group.length > 0 && (group.length >= this.#options.maxCalls || bytes + size > MAX_BATCH_BYTES)) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(waiter);
      bytes += size;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  #track(work: Promise<void>): void {
    this.#submitting.add(work);
    void work.finally(() => this.#submitting.delete(work));
  }

  async #submit(group: Waiter[]): Promise<void> {
    for (const waiter of group) waiter.customId = `${this.#idPrefix}_${(++this.#seq).toString(36)}`;
    let batch: MessageBatch;
    try {
      batch = await this.#api().create(group.map((w) => ({ custom_id: w.customId!, params: w.input.params })));
    } catch (error) {
      // Nothing was created: every call of the group fails with the API's (or the transport's) error.
      for (const waiter of group) {
        waiter.customId = undefined;
        this.#settle(waiter, () => waiter.reject(error));
      }
      return;
    }
    const live: LiveBatch = {
      id: batch.id,
      startedAt: performance.now(),
      calls: new Map(),
      open: 0,
      finished: false,
      collecting: false,
      persisted: false,
      timer: undefined,
    };
    for (const waiter of group) {
      live.calls.set(waiter.customId!, waiter);
      waiter.batch = live;
      if (!waiter.done) live.open++;
    }
    this.#live.set(live.id, live);
    live.persisted = await this.#persist(live, group);
    this.#deps.events.emit('batchSubmitted', {
      batchId: live.id,
      calls: group.length,
      resent: group.filter((w) => w.resent).length,
      persisted: live.persisted,
    });
    this.#deps.log.log('info', { batchId: live.id, calls: group.length, persisted: live.persisted }, 'message batch submitted');
    if (this.#closed) return this.#leaveAtClose(live);
    // Every call gave up while the batch was being recorded: it was cancelled then.
    if (live.finished) return;
    if (live.open === 0) return this.#cancelAbandoned(live);
    // Not awaited: close() waits for submissions, never for a results download.
    if (batch.processing_status === 'ended') void this.#collect(live, this.#options.pollIntervalMs);
    else this.#schedulePoll(live, this.#options.pollIntervalMs);
  }

  async #persist(live: LiveBatch, group: readonly Waiter[]): Promise<boolean> {
    const store = this.#deps.store;
    if (!store) return false;
    const record: PersistedBatch = { batchId: live.id, submittedAt: Date.now(), calls: group.map(persistedCall) };
    try {
      await store.save(record);
      return true;
    } catch (error) {
      this.#redisError('save', error);
      return false;
    }
  }

  #schedulePoll(live: LiveBatch, delay: number): void {
    live.timer = setTimeout(() => {
      live.timer = undefined;
      void this.#poll(live, delay);
    }, delay);
  }

  #nextDelay(delay: number): number {
    return Math.min(delay * 2, this.#options.maxPollIntervalMs);
  }

  async #poll(live: LiveBatch, delay: number): Promise<void> {
    if (live.finished) return;
    let batch: MessageBatch;
    try {
      batch = await this.#api().retrieve(live.id);
    } catch (error) {
      if (live.finished) return;
      if (statusOf(error) === 404) return this.#failBatch(live, error);
      this.#deps.log.log('warn', { batchId: live.id, error: errorText(error) }, 'message batch status check failed; checking again later');
      return this.#schedulePoll(live, this.#nextDelay(delay));
    }
    if (live.finished) return;
    if (batch.processing_status === 'ended') return this.#collect(live, delay);
    if (live.persisted) await this.#deps.store!.renew(live.id).catch((error: unknown) => this.#redisError('renew', error));
    if (!live.finished) this.#schedulePoll(live, this.#nextDelay(delay));
  }

  /**
   * Reads an ended batch's results whole, then settles each of its calls: `batchEnded` is emitted
   * before any caller resumes, and a read that fails halfway settles nobody (it is simply read again).
   */
  async #collect(live: LiveBatch, delay: number): Promise<void> {
    live.collecting = true;
    const lines: MessageBatchIndividualResponse[] = [];
    try {
      for await (const line of await this.#api().results(live.id)) lines.push(line);
    } catch (error) {
      live.collecting = false;
      if (live.finished) return;
      if (statusOf(error) === 404) return this.#failBatch(live, error);
      this.#deps.log.log('warn', { batchId: live.id, error: errorText(error) }, 'reading message batch results failed; trying again later');
      // Calls that gave up while the read ran may have left the batch with nobody waiting.
      if (live.open === 0) return this.#cancelAbandoned(live);
      return this.#schedulePoll(live, this.#nextDelay(delay));
    }
    // Closed while the results were read: the batch was left for resume(), which will read them again.
    if (live.finished) return;
    const counts = { ...ZERO_COUNTS };
    for (const line of lines) counts[line.result.type]++;
    this.#deps.events.emit('batchEnded', { batchId: live.id, counts, durationMs: Math.round(performance.now() - live.startedAt), outcome: 'results' });
    for (const line of lines) {
      const waiter = live.calls.get(line.custom_id);
      if (!waiter || waiter.batch !== live) continue;
      if (!waiter.done) this.#answer(waiter, live, line.result);
      // A call that gave up after its batch was sent was still processed, and billed: the ledger learns
      // of it, since its own record (a failure) carried no usage.
      else if (line.result.type === 'succeeded') this.#deps.onRecovered?.({ ...persistedCall(waiter), batchId: live.id, result: line.result });
    }
    for (const waiter of live.calls.values()) {
      if (!waiter.done && waiter.batch === live) {
        this.#settle(waiter, () => waiter.reject(new BatchCallError('missing', { batchId: live.id, customId: waiter.customId })));
      }
    }
    this.#finish(live);
  }

  #answer(waiter: Waiter, live: LiveBatch, result: MessageBatchResult): void {
    const batchId = live.id;
    const customId = waiter.customId!;
    switch (result.type) {
      case 'succeeded':
        return this.#settle(waiter, () => waiter.resolve({ type: 'succeeded', message: result.message, batchId, customId }));
      case 'errored':
        return this.#settle(waiter, () => waiter.resolve({ type: 'errored', error: result.error, batchId, customId }));
      case 'expired':
      case 'canceled': {
        const left = waiter.deadline === undefined ? Infinity : waiter.deadline - performance.now();
        if (!waiter.resent && left > 0 && !this.#closed) {
          // Sent once more, in a later batch: out of this one, as if it had never been in it.
          waiter.resent = true;
          waiter.batch = undefined;
          waiter.customId = undefined;
          live.open--;
          this.#gather(waiter);
          return;
        }
        return this.#settle(waiter, () => waiter.reject(new BatchCallError(result.type, { batchId, customId })));
      }
    }
  }

  /** Ends a call once: detaches its listeners and counts it out of its batch. */
  #settle(waiter: Waiter, settle: () => void): void {
    if (waiter.done) return;
    waiter.done = true;
    waiter.detach();
    const live = waiter.batch;
    if (live && !live.finished) live.open--;
    settle();
  }

  /** A call gives up (abort, `within`): out of the queue, or out of its batch — cancelled once empty. */
  #giveUp(waiter: Waiter, error: unknown): void {
    if (waiter.done) return;
    this.#settle(waiter, () => waiter.reject(error));
    const live = waiter.batch;
    if (!live) {
      const index = this.#gathered.indexOf(waiter);
      if (index >= 0) {
        this.#gathered.splice(index, 1);
        this.#gatheredBytes -= waiter.input.bytes ?? 0;
      }
      if (this.#gathered.length === 0 && this.#flushTimer) {
        clearTimeout(this.#flushTimer);
        this.#flushTimer = undefined;
      }
      return;
    }
    if (live.open === 0 && !live.finished && !live.collecting) void this.#cancelAbandoned(live);
  }

  async #cancelAbandoned(live: LiveBatch): Promise<void> {
    this.#finish(live);
    let counts: Record<keyof typeof ZERO_COUNTS, number> = { ...ZERO_COUNTS };
    try {
      const batch = await this.#api().cancel(live.id);
      const c = batch.request_counts;
      counts = { succeeded: c.succeeded, errored: c.errored, expired: c.expired, canceled: c.canceled };
    } catch (error) {
      this.#deps.log.log('warn', { batchId: live.id, error: errorText(error) }, 'cancelling an abandoned message batch failed');
    }
    this.#deps.log.log('info', { batchId: live.id }, 'message batch cancelled: every call in it gave up');
    this.#deps.events.emit('batchEnded', { batchId: live.id, counts, durationMs: Math.round(performance.now() - live.startedAt), outcome: 'cancelled' });
  }

  #failBatch(live: LiveBatch, error: unknown): void {
    for (const waiter of live.calls.values()) {
      if (!waiter.done && waiter.batch === live) this.#settle(waiter, () => waiter.reject(error));
    }
    this.#finish(live);
  }

  /** Stops watching a batch and forgets it in Redis: its calls have all been answered or gave up. */
  #finish(live: LiveBatch): void {
    live.finished = true;
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    this.#live.delete(live.id);
    if (live.persisted) void this.#deps.store!.remove(live.id).catch((error: unknown) => this.#redisError('remove', error));
  }

  /**
   * At `close()`: with Redis the batch stays recorded and its claim is released, so any process can
   * `resume()` it at once; without, nobody could ever collect it, so it is cancelled.
   */
  async #leaveAtClose(live: LiveBatch): Promise<void> {
    live.finished = true;
    if (live.timer) clearTimeout(live.timer);
    this.#live.delete(live.id);
    for (const waiter of live.calls.values()) {
      if (!waiter.done && waiter.batch === live) {
        const detail = { batchId: live.id, customId: waiter.customId, cancelled: !live.persisted };
        this.#settle(waiter, () => waiter.reject(new BatchCallError('closed', detail)));
      }
    }
    if (live.persisted) {
      await this.#deps.store!.release(live.id).catch((error: unknown) => this.#redisError('release', error));
    } else {
      await this.#api()
        .cancel(live.id)
        .catch((error: unknown) => this.#deps.log.log('warn', { batchId: live.id, error: errorText(error) }, 'cancelling a message batch at close failed'));
    }
  }

  /**
   * Stops the queue. Calls not yet sent: with Redis they are sent now and recorded (so `resume()` can
   * collect them), without they are refused unsent. Batches being watched are left for `resume()` with
   * Redis, cancelled without. Every waiting call rejects with `BatchCallError` (`reason: 'closed'`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const unsent = this.#gathered.filter((w) => !w.done);
    this.#gathered = [];
    this.#gatheredBytes = 0;
    if (this.#deps.store && unsent.length > 0) {
      for (const group of this.#groups(unsent)) this.#track(this.#submit(group));
    } else {
      for (const waiter of unsent) this.#settle(waiter, () => waiter.reject(new BatchCallError('closed', {})));
    }
    await Promise.all([...this.#live.values()].map((live) => this.#leaveAtClose(live)));
    // Submissions in flight end in #leaveAtClose themselves once the API has answered.
    await Promise.allSettled([...this.#submitting]);
  }

  /**
   * Collects the batches that another process sent and never collected (it crashed, or closed): every
   * batch in Redis whose claim has lapsed or was released. Each is claimed, waited for (unless
   * `wait: false`), read, priced in the ledger, and forgotten. Returns one entry per call, with the
   * `ref`, `tags`, `user` and `model` it was sent with.
   */
  async resume(options: ResumeOptions = {}): Promise<RecoveredBatchCall[]> {
    const store = this.#deps.store!;
    let pending: PersistedBatch[];
    try {
      pending = await store.list();
    } catch (error) {
      this.#redisError('list', error);
      throw error;
    }
    const mine = pending.filter((batch) => !this.#live.has(batch.batchId));
    const collected = await Promise.all(mine.map((batch) => this.#recover(batch, options)));
    return collected.flat();
  }

  async #recover(persisted: PersistedBatch, options: ResumeOptions): Promise<RecoveredBatchCall[]> {
    if (!(await this.#claimOrWait(persisted.batchId, options))) return [];
    const store = this.#deps.store!;
    const startedAt = performance.now();
    let delay = this.#options.pollIntervalMs;
    try {
      for (;;) {
        const batch = await this.#api().retrieve(persisted.batchId);
        if (batch.processing_status === 'ended') break;
        if (options.wait === false) {
          await store.release(persisted.batchId);
          return [];
        }
        await abortableSleep(delay, options.signal);
        delay = this.#nextDelay(delay);
        await store.renew(persisted.batchId);
      }
    } catch (error) {
      if (statusOf(error) === 404) {
        // The batch is gone from the API (deleted): there is nothing left to collect.
        this.#deps.log.log('warn', { batchId: persisted.batchId }, 'a pending message batch no longer exists; forgetting it');
        await store.remove(persisted.batchId);
        return [];
      }
      await store.release(persisted.batchId).catch(() => undefined);
      throw error;
    }
    const calls = new Map(persisted.calls.map((call) => [call.customId, call]));
    const lines: MessageBatchIndividualResponse[] = [];
    try {
      for await (const line of await this.#api().results(persisted.batchId)) lines.push(line);
    } catch (error) {
      // Read whole or not at all: the batch stays pending for the next resume().
      await store.release(persisted.batchId).catch(() => undefined);
      throw error;
    }
    const out: RecoveredBatchCall[] = [];
    const counts = { ...ZERO_COUNTS };
    for (const line of lines) {
      counts[line.result.type]++;
      const call = calls.get(line.custom_id);
      if (!call) continue;
      const recovered: RecoveredBatchCall = { ...call, batchId: persisted.batchId, result: line.result };
      out.push(recovered);
      this.#deps.onRecovered?.(recovered);
    }
    await store.remove(persisted.batchId);
    this.#deps.events.emit('batchEnded', {
      batchId: persisted.batchId,
      counts,
      durationMs: Math.round(performance.now() - startedAt),
      outcome: 'results',
    });
    return out;
  }

  /**
   * Claims a pending batch. One held by another process is waited for (unless `wait: false`): its claim
   * lapses if that process died, or the batch leaves the store once that process has collected it.
   */
  async #claimOrWait(batchId: string, options: ResumeOptions): Promise<boolean> {
    const store = this.#deps.store!;
    for (;;) {
      if (await store.claim(batchId)) return true;
      const held = await store.claimState(batchId);
      if (!held.pending) return false;
      if (options.wait === false) {
        this.#deps.log.log(
          'info',
          { batchId, claimLapsesInMs: held.lapsesInMs },
          'a pending message batch is claimed by another process: left to it, or to a later resume() once the claim lapses',
        );
        return false;
      }
      // Checked again when the claim would lapse, or sooner: the holder may collect the batch meanwhile.
      await abortableSleep(Math.max(50, Math.min(held.lapsesInMs + 10, this.#options.maxPollIntervalMs)), options.signal);
    }
  }

  #redisError(operation: string, error: unknown): void {
    const message = errorText(error);
    this.#deps.log.log('warn', { component: 'batch', operation, error: message }, 'Redis unavailable for pending message batches: a crash now would lose track of them');
    this.#deps.events.emit('redisError', { component: 'batch', operation, message });
  }
}

function persistedCall(waiter: Waiter): PersistedCall {
  const input = waiter.input;
  return {
    customId: waiter.customId!,
    ...(input.model ? { model: input.model } : {}),
    ...(input.user ? { user: input.user } : {}),
    ...(input.tags?.length ? { tags: input.tags } : {}),
    ...(input.ref ? { ref: input.ref } : {}),
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
