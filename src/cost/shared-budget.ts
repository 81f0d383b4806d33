import { randomUUID } from 'node:crypto';
import {
  BudgetManager,
  emitWarning,
  exceeded,
  resolveBudgetOptions,
  warnThreshold,
  type BudgetGate,
  type BudgetOptions,
  type BudgetState,
  type ReserveRequest,
  type Reservation,
  type ResolvedBudget,
} from './budget';
import { CostStoreUnavailableError } from './errors';
import { amountToFemto, femtoToUsd, formatFemto, type Femto, type UsdAmount } from './money';
import { contributionNano, type Contributor, type RedisCostStore, type SettleReply } from './redis-cost-store';
import { windowBounds } from './window';

interface Snapshot {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly spent: Femto;
  readonly reserved: Femto;
  readonly asOf: number;
}

function userOf(u: string | null | undefined): string | undefined {
  return typeof u === 'string' && u !== '' ? u : undefined;
}

/**
 * A budget shared by every process using the same Redis, key prefix and budget `name`. Reservation,
 * settlement and release are single atomic Lua scripts, so concurrent reservers in any number of
 * processes cannot overshoot the limit (given actual cost ≤ reservation). The window's spend lives in
 * Redis: a new manager (e.g. after a restart) on the same keys sees it.
 *
 * **Redis loss.** With `onRedisError: 'local'` (the store's default) a reservation made while Redis is
 * unreachable is held by an in-process {@link BudgetManager} with the same limits, which starts from the
 * global spend this process last saw in Redis: the budget then holds per process (no process spends
 * more than the limit over the window), and globally at most what was left times the number of
 * processes. With `'fail'`, `reserve()` rejects with `CostStoreUnavailableError`. Settling or releasing
 * never rejects: a Redis reservation that cannot be settled is charged locally and expires in Redis
 * after `reservationTtlMs`.
 *
 * **Redis back, possibly empty.** Every script carries this process's own total for the window (see
 * `Contributor`); when Redis holds less for it — spend made during the outage, or everything, after a
 * restart without persistence — the script adds the difference before deciding. So once each process
 * has written once, Redis knows the true global spend again and refuses what no longer fits.
 */
export class SharedBudgetManager implements BudgetGate {
  /** Validated options. */
  readonly config: ResolvedBudget;
  /** The per-process fallback used while Redis is down. */
  readonly local: BudgetManager;
  readonly #store: RedisCostStore;
  /** Redis reservations finished locally while Redis was down (keeps settle/release exactly-once). */
  readonly #finishedLocally = new Set<string>();
  #snapshot: Snapshot | undefined;
  /** This instance's id in the window hashes, and its spend per window (nano-dollars, rounded up). */
  readonly #contributorId = randomUUID();
  readonly #mine = new Map<number, bigint>();

  constructor(options: BudgetOptions, store: RedisCostStore) {
    this.config = resolveBudgetOptions(options);
    this.#store = store;
    this.local = new BudgetManager(this.config, 'local');
  }

  /**
   * Reserves atomically in Redis; throws `BudgetExceededError` (no side effect) when it does not fit.
   * Falls back to the local budget, or rejects with `CostStoreUnavailableError`, when Redis is down.
   */
  async reserve(request: ReserveRequest): Promise<Reservation> {
    const now = this.config.now();
    const { start, end } = windowBounds(this.config.window, now);
    const femto = amountToFemto(request.usd);
    const user = userOf(request.user);
    const id = randomUUID();
    let reply;
    try {
      reply = await this.#store.reserve({
        name: this.config.name,
        windowStart: start,
        windowEnd: end,
        id,
        user,
        femto,
        limit: this.config.limit,
        userLimit: this.config.perUser,
        now,
        contributor: this.#contributor(start),
      });
    } catch (error) {
      if (error instanceof CostStoreUnavailableError && this.#store.onRedisError === 'local') {
        this.#seedLocal(start);
        return this.local.reserve(request);
      }
      throw error;
    }
    if (!reply.ok) {
      if (reply.scope === 'global') this.#snapshot = { windowStart: start, windowEnd: end, spent: reply.spent, reserved: reply.reserved, asOf: now };
      const limit = reply.scope === 'user' ? (this.config.perUser ?? 0n) : this.config.limit;
      throw exceeded(reply.scope, reply.scope === 'user' ? user : undefined, limit, reply.spent, reply.reserved, femto, end, now);
    }
    this.#snapshot = { windowStart: start, windowEnd: end, spent: reply.spent, reserved: reply.reserved, asOf: now };
    return Object.freeze({
      id,
      user: this.config.perUser !== undefined ? user : undefined,
      usd: femtoToUsd(femto),
      exact: formatFemto(femto),
      windowStart: start,
      windowResetAt: end,
      store: 'redis' as const,
    });
  }

  /** Replaces the reservation with the actual cost, exactly once across processes. */
  async settle(reservation: Reservation, actual: UsdAmount): Promise<boolean> {
    if (reservation.store === 'local') {
      const applied = this.local.settle(reservation, actual);
      if (applied) {
        this.#addMine(reservation.windowStart, amountToFemto(actual));
        await this.#sync(reservation.windowStart, reservation.windowResetAt);
      }
      return applied;
    }
    return this.#finish(reservation, 'settle', amountToFemto(actual));
  }

  /** Gives the reservation back, exactly once across processes. */
  async release(reservation: Reservation): Promise<boolean> {
    if (reservation.store === 'local') return this.local.release(reservation);
    return this.#finish(reservation, 'release', 0n);
  }

  /** Adds spend that had no reservation to the current window (never refuses, never rejects). */
  async charge(usd: UsdAmount, user?: string | null): Promise<void> {
    const femto = amountToFemto(usd);
    const u = userOf(user);
    const now = this.config.now();
    const { start, end } = windowBounds(this.config.window, now);
    try {
      const reply = await this.#store.charge({
        name: this.config.name,
        windowStart: start,
        windowEnd: end,
        user: u,
        femto,
        warnAt: warnThreshold(this.config.limit, this.config.warnPpm),
        userWarnAt: this.config.perUser === undefined ? undefined : warnThreshold(this.config.perUser, this.config.warnPpm),
        now,
        contributor: this.#contributor(start),
      });
      this.#addMine(start, femto);
      this.#afterWrite(reply, start, end, u, now);
    } catch {
      this.#seedLocal(start);
      this.local.charge(usd, u);
      this.#addMine(start, femto);
    }
  }

  /**
   * Last known figures (synchronous, for health): from the most recent Redis reply of this process, or
   * the local fallback's while Redis is down. May lag other processes; use {@link fetchState} to read.
   */
  state(user?: string): BudgetState {
    const now = this.config.now();
    const { start, end } = windowBounds(this.config.window, now);
    if (this.#store.degraded) return this.local.state(user);
    const snap = this.#snapshot && this.#snapshot.windowStart === start ? this.#snapshot : undefined;
    const spent = snap?.spent ?? 0n;
    const reserved = snap?.reserved ?? 0n;
    return this.#stateOf(start, end, spent, reserved, snap?.asOf ?? now);
  }

  /** Reads the current window from Redis (global, and `user`'s when a per-user limit exists). */
  async fetchState(user?: string): Promise<BudgetState> {
    const now = this.config.now();
    const { start, end } = windowBounds(this.config.window, now);
    const u = userOf(user);
    const wantUser = u !== undefined && this.config.perUser !== undefined ? u : undefined;
    const fig = await this.#store.readWindow(this.config.name, start, wantUser);
    this.#snapshot = { windowStart: start, windowEnd: end, spent: fig.spent, reserved: fig.reserved, asOf: now };
    const base = this.#stateOf(start, end, fig.spent, fig.reserved, now);
    if (wantUser === undefined || this.config.perUser === undefined) return base;
    const rem = this.config.perUser - fig.userSpent - fig.userReserved;
    return {
      ...base,
      user: {
        user: wantUser,
        limitUsd: femtoToUsd(this.config.perUser),
        spentUsd: femtoToUsd(fig.userSpent),
        reservedUsd: femtoToUsd(fig.userReserved),
        remainingUsd: femtoToUsd(rem > 0n ? rem : 0n),
      },
    };
  }

  #stateOf(start: number, end: number, spent: Femto, reserved: Femto, asOf: number): BudgetState {
    const remaining = this.config.limit - spent - reserved;
    return {
      limitUsd: femtoToUsd(this.config.limit),
      spentUsd: femtoToUsd(spent),
      reservedUsd: femtoToUsd(reserved),
      remainingUsd: femtoToUsd(remaining > 0n ? remaining : 0n),
      windowStart: start,
      windowResetAt: end,
      ...(this.config.perUser !== undefined ? { perUserLimitUsd: femtoToUsd(this.config.perUser) } : {}),
      asOf,
      source: 'redis',
    };
  }

  async #finish(reservation: Reservation, mode: 'settle' | 'release', femto: Femto): Promise<boolean> {
    if (this.#finishedLocally.has(reservation.id)) return false;
    const now = this.config.now();
    try {
      const reply = await this.#store.settle({
        name: this.config.name,
        windowStart: reservation.windowStart,
        windowEnd: reservation.windowResetAt,
        id: reservation.id,
        mode,
        femto,
        warnAt: warnThreshold(this.config.limit, this.config.warnPpm),
        userWarnAt: this.config.perUser === undefined ? undefined : warnThreshold(this.config.perUser, this.config.warnPpm),
        now,
        contributor: this.#contributor(reservation.windowStart),
      });
      if (reply.applied) {
        if (mode === 'settle') this.#addMine(reservation.windowStart, femto);
        this.#afterWrite(reply, reservation.windowStart, reservation.windowResetAt, reservation.user, now);
      }
      return reply.applied;
    } catch {
      // Redis is down: keep the spend locally (and in this process's total, which the next script that
      // reaches Redis adds there); the Redis reservation expires after reservationTtlMs.
      if (this.#finishedLocally.size >= 10_000) this.#finishedLocally.clear();
      this.#finishedLocally.add(reservation.id);
      if (mode === 'settle') {
        this.#seedLocal(reservation.windowStart);
        this.local.charge(femtoToExact(femto), reservation.user);
        this.#addMine(reservation.windowStart, femto);
      }
      return true;
    }
  }

  #contributor(windowStart: number): Contributor {
    return { id: this.#contributorId, mineNano: this.#mine.get(windowStart) ?? 0n };
  }

  #addMine(windowStart: number, femto: Femto): void {
    if (femto <= 0n) return;
    this.#mine.set(windowStart, (this.#mine.get(windowStart) ?? 0n) + contributionNano(femto));
    // Only the current window (and a late settlement of the previous one) matter.
    if (this.#mine.size > 2) this.#mine.delete(Math.min(...this.#mine.keys()));
  }

  /**
   * Redis just failed: the local fallback starts from the global spend this process last saw, so a
   * process cannot spend the whole limit again on its own during an outage.
   */
  #seedLocal(windowStart: number): void {
    const snap = this.#snapshot;
    if (!snap || snap.windowStart !== windowStart) return;
    const missing = snap.spent - this.local.spentFemto();
    if (missing > 0n) this.local.charge(femtoToExact(missing));
  }

  /** Spend settled locally reaches Redis through the reconciliation of any script: a zero charge. */
  async #sync(windowStart: number, windowEnd: number): Promise<void> {
    const now = this.config.now();
    try {
      const reply = await this.#store.charge({
        name: this.config.name,
        windowStart,
        windowEnd,
        user: undefined,
        femto: 0n,
        warnAt: warnThreshold(this.config.limit, this.config.warnPpm),
        userWarnAt: undefined,
        now,
        contributor: this.#contributor(windowStart),
      });
      this.#afterWrite(reply, windowStart, windowEnd, undefined, now);
    } catch {
      // still down: the next script that reaches Redis carries this spend there
    }
  }

  #afterWrite(reply: SettleReply, start: number, end: number, user: string | undefined, now: number): void {
    this.#snapshot = { windowStart: start, windowEnd: end, spent: reply.spent, reserved: reply.reserved, asOf: now };
    const { limit, perUser, warnAt } = this.config;
    if (reply.warnGlobal) {
      emitWarning(this.config, {
        scope: 'global',
        limitUsd: femtoToUsd(limit),
        spentUsd: femtoToUsd(reply.spent),
        warnAt,
        windowStart: start,
        windowResetAt: end,
      });
    }
    if (reply.warnUser && user !== undefined && perUser !== undefined) {
      emitWarning(this.config, {
        scope: 'user',
        user,
        limitUsd: femtoToUsd(perUser),
        spentUsd: femtoToUsd(reply.userSpent),
        warnAt,
        windowStart: start,
        windowResetAt: end,
      });
    }
  }
}

function femtoToExact(femto: Femto): { readonly exact: string } {
  return { exact: formatFemto(femto) };
}
