/**
 * The rate-limit engine: per-scope RPM / ITPM / OTPM token buckets, a priority wait queue, header
 * learning, 429 pauses, and optionally buckets shared through a {@link SharedBucketStore} (Redis).
 *
 * Life of a call: `acquire` reserves all three dimensions or none (synchronously when there is
 * room: no timer, no promise), the caller sends the request, calls `observe` with the response
 * headers and `settle`s the permit with the actual usage.
 *
 * **Header-sync rule for in-flight reservations.** A response's `remaining` counts everything the
 * server had seen when it produced the headers. For the response of permit P, every permit admitted
 * *before* P is taken as seen (it was sent first), every permit admitted *after* P that is still in
 * flight as unseen. So `level := min(level, remaining − Σ demand of in-flight permits admitted after
 * P)`. Without P (an unlinked response) every in-flight permit counts as unseen: conservative. The
 * sync only ever lowers the level: raising it to `remaining` would let several processes each claim
 * the same headroom. Observe as soon as the headers arrive; for a complete (non-streaming) response,
 * settling first and then observing is the conservative order.
 *
 * **What `failed` gives back.** The request and its input tokens stay charged — a 5xx or a cut
 * connection may well have reached the server, which counts both at the start — while the output
 * reservation (`max_tokens`) is returned, since the server only keeps what was generated and a
 * failed call generated nothing billable that we know of. Known partial usage can be passed.
 *
 * **Per process.** `maxConcurrent`, `startupConcurrency`, the wait queue and `maxQueue` are per
 * process, also with a shared store: only the buckets (and 429 pauses) are shared.
 *
 * @module
 */
import { RateLimitCapacityError } from '../errors/rate-limit-capacity-error';
import { RateLimitQueueFullError } from '../errors/rate-limit-queue-full-error';
import { RateLimitWaitExceededError } from '../errors/rate-limit-wait-exceeded-error';
import { RateLimiterClosedError, RateLimitStoreUnavailableError } from './errors';
import { ClockSkew, parseRateLimitHeaders } from './header-sync';
import { type RateLimiterOptions, type ResolvedOptions, resolveOptions } from './options';
import { PermitImpl, type PermitOwner } from './permit';
import { ScopeState, type Waiter } from './scope-state';
import { type BucketSeed, type ScopeSeed, type StoreReserveResult } from './store';
import { type TokenBucket } from './token-bucket';
import {
  type AcquireOptions,
  type Demand,
  DIMENSIONS,
  type Dimension,
  type DimensionSnapshot,
  type Permit,
  type RateLimitEvent,
  type ScopeSnapshot,
  type SettleResult,
  type WaitReason,
} from './types';

/** Why the head cannot go now. */
interface Block {
  reason: WaitReason;
  /** Expected wait, ms; `Infinity` when another call must finish first. */
  waitMs: number;
}

const REJECTED = 'rejected' as const;

/**
 * In 'auto' mode, successful responses without any `anthropic-ratelimit-*` header after which the
 * start-up concurrency cap is lifted: a proxy that strips them must not cage the client for good.
 */
export const HEADERLESS_RESPONSES = 3;

function checkDemand(demand: Demand): void {
  if (typeof demand !== 'object' || demand === null) throw new TypeError('Rate-limit demand must be an object { requests, inputTokens, outputTokens }.');
  for (const key of DIMENSIONS) {
    const v = demand[key];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) {
      throw new RangeError(`Rate-limit demand.${key} must be a finite non-negative number, got ${String(v)}.`);
    }
  }
}

function amountOf(demand: Demand, i: number): number {
  return i === 0 ? demand.requests : i === 1 ? demand.inputTokens : demand.outputTokens;
}

function usable(x: number | undefined): number | undefined {
  return typeof x === 'number' && x >= 0 && Number.isFinite(x) ? x : undefined;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The rate-limit engine. One instance serves any number of scopes (e.g. one per model class); each
 * scope has its own buckets, queue and in-flight count.
 */
export class RateLimiter implements PermitOwner {
  private readonly o: ResolvedOptions;
  private readonly scopes = new Map<string, ScopeState>();
  /** Server−local clock offset, narrowed by every `date` header seen (shared by all scopes: one server). */
  private readonly skew = new ClockSkew();
  private closed = false;
  private storeHealthy = true;
  private lastStoreError: unknown;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private probing = false;

  /**
   * @param opts - See {@link RateLimiterOptions}. Invalid values throw `ConfigError` naming the option.
   */
  constructor(opts: RateLimiterOptions) {
    this.o = resolveOptions(opts);
  }

  /**
   * Ask for capacity. Returns a {@link Permit} synchronously when the scope has room and nobody of
   * equal or higher priority is waiting (pure arithmetic: no timer, no promise). Otherwise returns a
   * promise that waits in the scope's queue (priority, then arrival). With a shared store every
   * admission is a promise (one atomic script call).
   *
   * Throws synchronously (so `await` sees it as a rejection) for refusals decided at once:
   * {@link RateLimitCapacityError} (the demand exceeds a bucket's capacity),
   * {@link RateLimitQueueFullError}, {@link RateLimitWaitExceededError} (`maxWaitMs` 0, or a 429
   * pause longer than `maxWaitMs`), an already-aborted `signal`'s reason, `RateLimiterClosedError`,
   * `RateLimitStoreUnavailableError` (`onRedisError: 'fail'`). While waiting, the promise rejects
   * with the same errors, or with `signal.reason` on abort.
   *
   * @param scope - Rate-limit scope, e.g. a model class.
   * @param demand - What to reserve.
   * @param opts - Priority, abort signal, per-call `maxWaitMs`.
   */
  acquire(scope: string, demand: Demand, opts?: AcquireOptions): Permit | Promise<Permit> {
    if (this.closed) throw new RateLimiterClosedError(scope);
    checkDemand(demand);
    const signal = opts?.signal;
    if (signal !== undefined && signal.aborted) throw signal.reason;
    const now = this.o.now();
    const state = this.scopes.get(scope) ?? this.createScope(scope, now);
    const capacityError = this.capacityError(state, demand);
    if (capacityError !== undefined) throw capacityError;
    const where = this.storeMode(state);
    if (where === 'unavailable') throw new RateLimitStoreUnavailableError(scope, this.lastStoreError);
    const priority = opts?.priority ?? 0;
    if (typeof priority !== 'number' || Number.isNaN(priority)) throw new RangeError('Rate-limit priority must be a number.');
    const head = state.queue.peek();
    const first = head === undefined || priority > head.priority;
    if (where === 'local' && first && state.pausedUntil <= now && state.inFlight.size < this.concurrencyLimit(state)) {
      const [r, i, o] = state.buckets;
      r.refill(now);
      i.refill(now);
      o.refill(now);
      if (r.covers(demand.requests) && i.covers(demand.inputTokens) && o.covers(demand.outputTokens)) {
        return this.admit(state, demand, 0, now, 'local');
      }
    }
    return this.enqueue(state, demand, priority, first, where, now, opts);
  }

  /**
   * Learn from a response (2xx or 429): capacities, refill rates and levels from the
   * `anthropic-ratelimit-*` headers (see the module docs for the in-flight rule), and a 429's
   * `retry-after` pauses the scope. Never throws.
   *
   * @param scope - The scope the request was admitted in.
   * @param headers - Response headers.
   * @param status - HTTP status.
   * @param permit - The permit of the request that produced this response (recommended: it lets the
   *   sync tell which in-flight reservations the server had already seen).
   */
  observe(scope: string, headers: Headers, status: number, permit?: Permit): void {
    try {
      if (this.closed) return;
      const now = this.o.now();
      const parsed = parseRateLimitHeaders(headers, now, this.skew);
      const state = this.scopes.get(scope) ?? this.createScope(scope, now);
      const unseen: [number, number, number] = [0, 0, 0];
      const after = permit instanceof PermitImpl && permit.scope === scope ? permit.seq : -1;
      for (const p of state.inFlight) {
        if (p.seq <= after) continue;
        unseen[0] += p.demand.requests;
        unseen[1] += p.demand.inputTokens;
        unseen[2] += p.demand.outputTokens;
      }
      const { changed, syncs } = state.applyHeaders(parsed, unseen, now);
      if (changed) this.emit({ type: 'limitsLearned', scope, limits: state.knownLimits() });
      if (!state.learned && status >= 200 && status < 300 && ++state.headerless === HEADERLESS_RESPONSES) {
        this.emit({ type: 'headersMissing', scope, responses: state.headerless });
      }
      if ((syncs[0] !== null || syncs[1] !== null || syncs[2] !== null) && this.storeMode(state) === 'store') {
        this.o.store?.sync(scope, syncs, this.seedOf(state, now)).catch((e: unknown) => this.storeFailed(e));
      }
      if (status === 429 && parsed.retryAfterMs !== undefined && parsed.retryAfterMs > 0) {
        this.pause(scope, now + parsed.retryAfterMs);
      } else {
        this.capacityChanged(state);
      }
    } catch {
      // observe never throws: learning is best-effort.
    }
  }

  /**
   * Block the scope for everyone until `untilMs` (epoch ms, local clock): a 429's `retry-after`.
   * With a shared store the pause is shared by every process. A later pause extends, an earlier
   * one never shortens.
   */
  pause(scope: string, untilMs: number): void {
    if (this.closed || !Number.isFinite(untilMs)) return;
    const now = this.o.now();
    const state = this.scopes.get(scope) ?? this.createScope(scope, now);
    if (untilMs > state.pausedUntil) {
      state.pausedUntil = untilMs;
      this.emit({ type: 'paused', scope, untilMs });
    }
    if (untilMs > now && this.storeMode(state) === 'store') {
      this.o.store?.pause(scope, untilMs - now, this.seedOf(state, now)).catch((e: unknown) => this.storeFailed(e));
    }
    this.capacityChanged(state);
  }

  /** Per scope: the three buckets, queue depth, in-flight count, concurrency cap and pause. */
  snapshot(): Record<string, ScopeSnapshot> {
    const now = this.o.now();
    const out: Record<string, ScopeSnapshot> = {};
    for (const [name, state] of this.scopes) {
      const dims = {} as Record<Dimension, DimensionSnapshot>;
      DIMENSIONS.forEach((dim, i) => {
        const b = state.buckets[i] as TokenBucket;
        b.refill(now);
        dims[dim] = {
          capacity: b.capacity,
          available: b.accounted ? b.level : Infinity,
          refillPerSec: b.refillPerMs * 1000,
          known: b.known,
        };
      });
      out[name] = {
        dimensions: dims,
        queueDepth: state.queue.size,
        inFlight: state.inFlight.size,
        concurrencyLimit: this.concurrencyLimit(state),
        learned: state.learned,
        pausedUntil: state.pausedUntil > now ? state.pausedUntil : null,
        store: this.o.store !== undefined && this.storeHealthy && state.accounted ? 'redis' : 'local',
      };
    }
    return out;
  }

  /**
   * Stop: clear every timer, reject every waiting call with `RateLimiterClosedError`, and close the
   * store (which closes a Redis client only if the store created it). Later `acquire` calls throw.
   * Permits already handed out may still be settled (it only frees their slot).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    for (const state of this.scopes.values()) {
      if (state.timer !== undefined) clearTimeout(state.timer);
      state.timer = undefined;
      state.timerAt = Infinity;
      for (const w of state.queue.drain()) this.finish(w, new RateLimiterClosedError(state.name));
    }
    await this.o.store?.close();
  }

  /** @internal Called by {@link PermitImpl.settle}. */
  settlePermit(permit: PermitImpl, result: SettleResult): void {
    const state = this.scopes.get(permit.scope);
    if (state === undefined) return;
    state.inFlight.delete(permit);
    const now = this.o.now();
    const d = permit.demand;
    const delta: [number, number, number] = [0, 0, 0];
    if (result.kind === 'served') {
      const input = usable(result.actual?.inputTokens);
      const output = usable(result.actual?.outputTokens);
      if (input !== undefined) delta[1] = d.inputTokens - input;
      if (output !== undefined) delta[2] = d.outputTokens - output;
    } else if (result.kind === 'rejected') {
      delta[0] = d.requests;
      delta[1] = d.inputTokens;
      delta[2] = d.outputTokens;
    } else {
      const input = usable(result.actual?.inputTokens);
      const output = usable(result.actual?.outputTokens);
      if (input !== undefined) delta[1] = d.inputTokens - input;
      delta[2] = output !== undefined ? d.outputTokens - output : d.outputTokens;
    }
    let any = false;
    for (let i = 0; i < 3; i++) {
      if ((permit.charged & (1 << i)) === 0) {
        delta[i] = 0;
        continue;
      }
      if (delta[i] !== 0) {
        (state.buckets[i] as TokenBucket).adjust(delta[i] as number, now);
        any = true;
      }
    }
    if (any && permit.via === 'store' && !this.closed && this.storeHealthy) {
      this.o.store?.adjust(permit.scope, delta, this.seedOf(state, now)).catch((e: unknown) => this.storeFailed(e));
    }
    if (permit.announcedToStore && !this.closed && this.storeHealthy) {
      // Answered: the server's remaining now includes it.
      const back: [number, number, number] = [-d.requests, -d.inputTokens, -d.outputTokens];
      this.o.store?.startup?.(permit.scope, back, this.seedOf(state, now)).catch((e: unknown) => this.storeFailed(e));
    }
    this.capacityChanged(state);
  }

  // ---------------------------------------------------------------------------------------------
  // internals

  private createScope(scope: string, now: number): ScopeState {
    const state = new ScopeState(scope, this.o.ceilings, now);
    this.scopes.set(scope, state);
    return state;
  }

  private concurrencyLimit(state: ScopeState): number {
    if (this.o.mode === 'auto' && !state.learned && state.headerless < HEADERLESS_RESPONSES) {
      return Math.min(this.o.maxConcurrent, this.o.startupConcurrency);
    }
    return this.o.maxConcurrent;
  }

  private capacityError(state: ScopeState, demand: Demand): RateLimitCapacityError | undefined {
    for (let i = 0; i < 3; i++) {
      const b = state.buckets[i] as TokenBucket;
      const amount = amountOf(demand, i);
      if (b.capacity !== Infinity && amount > b.capacity) {
        return new RateLimitCapacityError(state.name, DIMENSIONS[i] as Dimension, amount, b.capacity);
      }
    }
    return undefined;
  }

  /** Where admissions for this scope are decided now. */
  private storeMode(state: ScopeState): 'local' | 'store' | 'unavailable' {
    const store = this.o.store;
    if (store === undefined || !state.accounted) return 'local';
    if (this.storeHealthy && store.connectionState() === 'down') {
      this.storeFailed(new Error('Redis connection is not ready'));
    }
    if (this.storeHealthy) return 'store';
    return this.o.onRedisError === 'fail' ? 'unavailable' : 'local';
  }

  private admit(state: ScopeState, demand: Demand, waitedMs: number, now: number, via: 'local' | 'store'): PermitImpl {
    let charged = 0;
    for (let i = 0; i < 3; i++) {
      const b = state.buckets[i] as TokenBucket;
      if (b.capacity === Infinity) continue;
      charged |= 1 << i;
      const amount = amountOf(demand, i);
      // Local: the buckets were refilled by the fit check. Store: mirror the shared charge locally.
      if (via === 'local') b.level -= amount;
      else b.adjust(-amount, now);
    }
    const permit = new PermitImpl(state.name, demand, waitedMs, state.nextAdmitSeq++, charged, via, this);
    state.inFlight.add(permit);
    // Before anything is known, other processes cannot see this call: tell the shared store, so whoever
    // learns the limits first leaves room for it (see STARTUP_SCRIPT).
    const store = this.o.store;
    if (charged === 0 && store?.startup !== undefined && this.storeHealthy && !this.closed) {
      permit.announcedToStore = true;
      const amounts: [number, number, number] = [demand.requests, demand.inputTokens, demand.outputTokens];
      store.startup(state.name, amounts, this.seedOf(state, now)).catch((e: unknown) => this.storeFailed(e));
    }
    return permit;
  }

  /** What keeps `demand` from being admitted now, as if it were the head (null: nothing). */
  private blockOf(state: ScopeState, demand: Demand, now: number): Block | null {
    if (state.pausedUntil > now) return { reason: 'pause', waitMs: state.pausedUntil - now };
    if (state.inFlight.size >= this.concurrencyLimit(state)) return { reason: 'concurrency', waitMs: Infinity };
    let block: Block | null = null;
    for (let i = 0; i < 3; i++) {
      const b = state.buckets[i] as TokenBucket;
      b.refill(now);
      const wait = b.waitFor(amountOf(demand, i));
      if (wait > 0 && (block === null || wait > block.waitMs)) block = { reason: DIMENSIONS[i] as Dimension, waitMs: wait };
    }
    return block;
  }

  private enqueue(
    state: ScopeState,
    demand: Demand,
    priority: number,
    first: boolean,
    where: 'local' | 'store',
    now: number,
    opts: AcquireOptions | undefined,
  ): Promise<Permit> {
    const maxWaitMs = opts?.maxWaitMs ?? this.o.maxWaitMs;
    if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) throw new RangeError('Rate-limit maxWaitMs must be a non-negative number.');
    const depth = state.queue.size;
    if (depth >= this.o.maxQueue) {
      const head = state.queue.peek();
      const headBlock = head === undefined ? null : this.blockOf(state, head.demand, now);
      throw new RateLimitQueueFullError(state.name, depth, this.o.maxQueue, headBlock?.waitMs);
    }
    let block: Block | null = null;
    if (where === 'local') {
      if (first) block = this.blockOf(state, demand, now);
      else {
        const head = state.queue.peek();
        const headBlock = head === undefined ? null : this.blockOf(state, head.demand, now);
        block = { reason: 'queue', waitMs: headBlock?.waitMs ?? Infinity };
      }
      if (block !== null && maxWaitMs <= 0) {
        throw new RateLimitWaitExceededError(state.name, block.reason, 0, maxWaitMs, depth, block.waitMs);
      }
    }
    if (state.pausedUntil - now > maxWaitMs) {
      throw new RateLimitWaitExceededError(state.name, 'pause', 0, maxWaitMs, depth, state.pausedUntil - now);
    }
    return new Promise<Permit>((resolve, reject) => {
      const signal = opts?.signal;
      const waiter: Waiter = {
        priority,
        seq: state.nextWaiterSeq++,
        demand,
        enqueuedAt: now,
        deadline: now + maxWaitMs,
        maxWaitMs,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        phase: 'queued',
        announced: false,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => this.abortWaiter(state, waiter);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      state.queue.push(waiter);
      if (waiter.deadline < state.minDeadline) state.minDeadline = waiter.deadline;
      if (block !== null) {
        waiter.announced = true;
        this.emit({ type: 'rateLimited', scope: state.name, dimension: block.reason, waitMs: block.waitMs });
      }
      this.pump(state);
    });
  }

  private abortWaiter(state: ScopeState, w: Waiter): void {
    if (w.phase === 'done') return;
    const reserving = w.phase === 'reserving';
    state.queue.remove(w);
    this.finish(w, w.signal?.reason);
    // A reservation in flight is given back when it answers (see onReserved).
    if (!reserving) this.pump(state);
  }

  /** Settle a waiter: resolve with a permit, or reject with an error. */
  private finish(w: Waiter, outcome: unknown, permit?: Permit): void {
    w.phase = 'done';
    if (w.signal !== undefined && w.onAbort !== undefined) w.signal.removeEventListener('abort', w.onAbort);
    if (permit !== undefined) w.resolve(permit);
    else w.reject(outcome);
  }

  /** Capacity (or a pause) changed: re-examine the queue; a store reservation in flight is retried when it answers. */
  private capacityChanged(state: ScopeState): void {
    if (state.reserving) state.repump = true;
    this.pump(state);
  }

  /** Admit or reject what can be decided now, then arm the scope's single timer. */
  private pump(state: ScopeState): void {
    if (this.closed) return;
    const where = this.storeMode(state);
    if (where === 'store') {
      this.pumpStore(state);
      return;
    }
    if (where === 'unavailable') {
      for (const w of state.queue.toArray()) {
        if (w.phase !== 'queued') continue;
        state.queue.remove(w);
        this.finish(w, new RateLimitStoreUnavailableError(state.name, this.lastStoreError));
      }
      this.setTimer(state, Infinity, 0);
      return;
    }
    const now = this.o.now();
    for (;;) {
      const head = state.queue.peek();
      if (head === undefined) {
        this.setTimer(state, Infinity, now);
        return;
      }
      let block: Block | null | typeof REJECTED;
      if (head.phase === 'reserving') block = { reason: 'queue', waitMs: Infinity };
      else block = this.headBlock(state, head, now);
      if (block === REJECTED) continue;
      if (block === null) {
        state.queue.shift();
        this.finish(head, undefined, this.admit(state, head.demand, now - head.enqueuedAt, now, 'local'));
        continue;
      }
      if (now >= state.minDeadline && this.expire(state, now, block, false)) continue;
      this.setTimer(state, Math.min(now + block.waitMs, state.minDeadline), now);
      return;
    }
  }

  /** Like {@link blockOf} for the head, rejecting it if it can never fit. */
  private headBlock(state: ScopeState, head: Waiter, now: number): Block | null | typeof REJECTED {
    const capacityError = this.capacityError(state, head.demand);
    if (capacityError !== undefined) {
      state.queue.shift();
      this.finish(head, capacityError);
      return REJECTED;
    }
    return this.blockOf(state, head.demand, now);
  }

  /**
   * Reject waiters whose deadline has passed. `headBlock` says what the head waits for (others wait
   * for the queue). With `skipHead` the head is left alone (the store path gives it a last try).
   *
   * @returns Whether the head was removed.
   */
  private expire(state: ScopeState, now: number, headBlock: Block | null, skipHead: boolean): boolean {
    const head = state.queue.peek();
    let headRemoved = false;
    let min = Infinity;
    for (const w of state.queue.toArray()) {
      const isHead = w === head;
      if (w.phase !== 'queued' || (skipHead && isHead) || w.deadline > now) {
        if (w.deadline < min) min = w.deadline;
        continue;
      }
      state.queue.remove(w);
      if (isHead) headRemoved = true;
      const reason = isHead && headBlock !== null ? headBlock : { reason: 'queue' as const, waitMs: Infinity };
      this.finish(
        w,
        new RateLimitWaitExceededError(state.name, reason.reason, now - w.enqueuedAt, w.maxWaitMs, state.queue.size, reason.waitMs),
      );
    }
    state.minDeadline = min;
    return headRemoved;
  }

  private setTimer(state: ScopeState, at: number, now: number): void {
    if (at === Infinity) {
      if (state.timer !== undefined) {
        clearTimeout(state.timer);
        state.timer = undefined;
        state.timerAt = Infinity;
      }
      return;
    }
    if (state.timer !== undefined) {
      if (state.timerAt <= at) return; // an earlier wake-up is armed; it re-arms as needed
      clearTimeout(state.timer);
    }
    state.timerAt = at;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.timerAt = Infinity;
      this.pump(state);
    }, Math.max(1, Math.ceil(at - now)));
  }

  // ---------------------------------------------------------------------------------------------
  // shared store

  private seedOf(state: ScopeState, now: number): ScopeSeed {
    const seed = (b: TokenBucket): BucketSeed => {
      b.refill(now);
      return { capacity: b.capacity, refillPerMs: b.refillPerMs, level: Math.min(b.level, b.capacity) };
    };
    return [seed(state.buckets[0]), seed(state.buckets[1]), seed(state.buckets[2])];
  }

  /** Queue processing against the store: one reservation in flight per scope, for the head. */
  private pumpStore(state: ScopeState): void {
    const store = this.o.store;
    if (store === undefined) return;
    const now = this.o.now();
    if (now >= state.minDeadline) this.expire(state, now, null, true);
    if (state.reserving) {
      this.setTimer(state, state.minDeadline, now);
      return;
    }
    for (;;) {
      const head = state.queue.peek();
      if (head === undefined) {
        this.setTimer(state, Infinity, now);
        return;
      }
      const capacityError = this.capacityError(state, head.demand);
      if (capacityError !== undefined) {
        state.queue.shift();
        this.finish(head, capacityError);
        continue;
      }
      let block: Block | null = null;
      if (state.pausedUntil > now) block = { reason: 'pause', waitMs: state.pausedUntil - now };
      else if (state.inFlight.size >= this.concurrencyLimit(state)) block = { reason: 'concurrency', waitMs: Infinity };
      if (block !== null) {
        if (head.deadline <= now) {
          this.expire(state, now, block, false);
          continue;
        }
        this.setTimer(state, Math.min(now + block.waitMs, state.minDeadline), now);
        return;
      }
      state.reserving = true;
      head.phase = 'reserving';
      this.setTimer(state, state.minDeadline, now);
      let reservation: Promise<StoreReserveResult>;
      try {
        reservation = store.reserve(state.name, head.demand, this.seedOf(state, now));
      } catch (error) {
        reservation = Promise.reject(error); // a store that throws synchronously must not wedge the scope
      }
      reservation.then(
        (result) => this.onReserved(state, head, result),
        (error: unknown) => this.onReserveFailed(state, head, error),
      );
      return;
    }
  }

  private onReserved(state: ScopeState, w: Waiter, result: StoreReserveResult): void {
    state.reserving = false;
    const repump = state.repump;
    state.repump = false;
    const now = this.o.now();
    if (w.phase !== 'reserving') {
      // Aborted or closed meanwhile: give back what was just reserved for it.
      if (result.kind === 'ok' && !this.closed && this.storeHealthy) {
        const d = w.demand;
        const seed = this.seedOf(state, now);
        const delta: [number, number, number] = [0, 0, 0];
        for (let i = 0; i < 3; i++) if ((seed[i] as BucketSeed).capacity !== Infinity) delta[i] = amountOf(d, i);
        this.o.store?.adjust(state.name, delta, seed).catch((e: unknown) => this.storeFailed(e));
      }
      this.pump(state);
      return;
    }
    w.phase = 'queued';
    if (result.kind === 'ok') {
      state.queue.remove(w);
      this.finish(w, undefined, this.admit(state, w.demand, now - w.enqueuedAt, now, 'store'));
    } else if (result.kind === 'capacity') {
      state.queue.remove(w);
      this.finish(w, new RateLimitCapacityError(state.name, result.dimension, amountOf(w.demand, DIMENSIONS.indexOf(result.dimension)), result.capacity));
    } else {
      const block: Block = { reason: result.reason, waitMs: result.waitMs };
      if (!w.announced) {
        w.announced = true;
        this.emit({ type: 'rateLimited', scope: state.name, dimension: block.reason, waitMs: block.waitMs });
      }
      if (w.deadline <= now) {
        state.queue.remove(w);
        this.finish(w, new RateLimitWaitExceededError(state.name, block.reason, now - w.enqueuedAt, w.maxWaitMs, state.queue.size, block.waitMs));
        this.pump(state);
        return;
      }
      if (result.reason === 'pause' && Number.isFinite(result.waitMs) && now + result.waitMs > state.pausedUntil) {
        state.pausedUntil = now + result.waitMs; // another process's 429
      }
      if (repump) {
        this.pump(state);
        return;
      }
      const poll = Math.min(result.waitMs, this.o.storePollMaxMs);
      this.setTimer(state, Math.min(now + poll, state.minDeadline, w.deadline), now);
      return;
    }
    this.pump(state);
  }

  private onReserveFailed(state: ScopeState, w: Waiter, error: unknown): void {
    state.reserving = false;
    state.repump = false;
    if (w.phase === 'reserving') w.phase = 'queued';
    this.storeFailed(error);
    this.pump(state);
  }

  /** The store failed: fall back (or fail) until a probe sees it answer again. */
  private storeFailed(error: unknown): void {
    if (this.closed) return;
    this.lastStoreError = error;
    if (!this.storeHealthy) return;
    this.storeHealthy = false;
    this.emit({ type: 'redisError', message: describeError(error) });
    const store = this.o.store;
    if (store === undefined) return;
    this.probeTimer = setInterval(() => {
      if (this.probing || store.connectionState() === 'down') return;
      this.probing = true;
      store.ping().then(
        () => {
          this.probing = false;
          this.storeRecovered();
        },
        (e: unknown) => {
          this.probing = false;
          this.lastStoreError = e;
        },
      );
    }, this.o.storeProbeIntervalMs);
    this.probeTimer.unref?.();
  }

  private storeRecovered(): void {
    if (this.closed || this.storeHealthy) return;
    this.storeHealthy = true;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.emit({ type: 'redisRecovered' });
    for (const state of this.scopes.values()) this.pump(state);
  }

  private emit(event: RateLimitEvent): void {
    const listener = this.o.onEvent;
    if (listener === undefined) return;
    try {
      listener(event);
    } catch {
      // A throwing listener must not break admission.
    }
  }
}
