import { BudgetExceededError, type BudgetScope } from '../errors/budget-exceeded-error';
import { ConfigError } from '../errors/config-error';
import { amountToFemto, ceilDiv, femtoToUsd, formatFemto, parseDecimal, usdToFemto, type Femto, type UsdAmount } from './money';
import { isBudgetWindow, windowBounds, type BudgetWindow } from './window';

/** Payload of the `budgetWarning` callback. */
export interface BudgetWarning {
  /** Which budget crossed its warning threshold. */
  readonly scope: BudgetScope;
  /** The user, for a per-user budget. */
  readonly user?: string;
  /** The budget's limit, USD. */
  readonly limitUsd: number;
  /** Settled spend in the window at the crossing, USD. */
  readonly spentUsd: number;
  /** The configured fraction (`warnAt`). */
  readonly warnAt: number;
  /** Window start, epoch ms. */
  readonly windowStart: number;
  /** Window end (reset), epoch ms. */
  readonly windowResetAt: number;
}

/** Options of a budget (`cost.budget`). */
export interface BudgetOptions {
  /** Global limit per window, USD. Required, > 0. */
  readonly limitUsd: number;
  /**
   * Window: `'day'` (UTC calendar day), `'month'` (UTC calendar month), or a length in ms (fixed windows
   * aligned to the epoch, at least 1000). Default `'day'`.
   */
  readonly window?: BudgetWindow;
  /** Limit per user (`metadata.user_id`) per window, USD. Default: no per-user limit. */
  readonly perUser?: number;
  /**
   * Fraction of a limit at which `budgetWarning` fires, once per window and scope (global, and each user
   * against `perUser`), when the **settled** spend reaches it. In (0, 1]. Default 0.8.
   */
  readonly warnAt?: number;
  /** Called once per window crossing of `warnAt` (global and per user). Exceptions are swallowed. Default: none. */
  readonly budgetWarning?: (warning: BudgetWarning) => void;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
  /** Budget name (part of shared-store keys, so two budgets can share one Redis). Default `'default'`. */
  readonly name?: string;
}

/** What a caller asks to reserve. */
export interface ReserveRequest {
  /** The user, for per-user limits. */
  readonly user?: string | null;
  /** The worst-case cost: a `CallCost` from `worstCaseCost` (preferred), an exact decimal string or USD number. */
  readonly usd: UsdAmount;
}

/**
 * A held amount of budget. Settle it with the actual cost, or release it if the call failed; exactly one
 * of the two takes effect, once (later calls return `false`).
 */
export interface Reservation {
  /** Unique id (globally unique for the Redis store). */
  readonly id: string;
  /** The user it counts against, if any. */
  readonly user: string | undefined;
  /** The reserved amount, USD (the exact amount is in `exact`). */
  readonly usd: number;
  /** The reserved amount, exact decimal USD. */
  readonly exact: string;
  /** Start of the window the reservation (and its settlement) belongs to. */
  readonly windowStart: number;
  /** End of that window. */
  readonly windowResetAt: number;
  /** Where it is held: `'memory'`, `'redis'`, or `'local'` (the Redis store's per-process fallback). */
  readonly store: 'memory' | 'redis' | 'local';
}

/** Per-user part of a {@link BudgetState}. */
export interface UserBudgetState {
  readonly user: string;
  readonly limitUsd: number;
  readonly spentUsd: number;
  readonly reservedUsd: number;
  readonly remainingUsd: number;
}

/** A budget snapshot for `client.health()`. */
export interface BudgetState {
  /** Global limit, USD. */
  readonly limitUsd: number;
  /** Settled spend in the current window, USD. */
  readonly spentUsd: number;
  /** Held by calls in flight, USD. */
  readonly reservedUsd: number;
  /** `max(0, limit − spent − reserved)`, USD. */
  readonly remainingUsd: number;
  /** Current window start, epoch ms. */
  readonly windowStart: number;
  /** Current window end (next reset), epoch ms. */
  readonly windowResetAt: number;
  /** Per-user limit, when configured. */
  readonly perUserLimitUsd?: number;
  /** The asked-for user's figures (when `state(user)` is given a user and a per-user limit exists). */
  readonly user?: UserBudgetState;
  /** When the figures were read (epoch ms); for the Redis store, the last reply seen. */
  readonly asOf: number;
  /** Where the figures come from. */
  readonly source: 'memory' | 'redis' | 'local';
}

/**
 * The budget interface the cost layer uses. The in-memory {@link BudgetManager} answers synchronously
 * (no promise on the fast path); the Redis-backed `SharedBudgetManager` returns promises.
 */
export interface BudgetGate {
  /** Reserves `usd` or throws `BudgetExceededError` (without side effects). */
  reserve(request: ReserveRequest): Reservation | Promise<Reservation>;
  /** Replaces the reservation with the actual spend. `true` the first time, `false` after. */
  settle(reservation: Reservation, actual: UsdAmount): boolean | Promise<boolean>;
  /** Gives the reservation back (the call failed). `true` the first time, `false` after. */
  release(reservation: Reservation): boolean | Promise<boolean>;
  /** Current figures (global, and `user`'s). */
  state(user?: string): BudgetState;
}

/** Validated budget options, amounts in femto-dollars. */
export interface ResolvedBudget {
  readonly limit: Femto;
  readonly perUser: Femto | undefined;
  readonly window: BudgetWindow;
  readonly warnAt: number;
  /** warnAt as parts per million. */
  readonly warnPpm: bigint;
  readonly now: () => number;
  readonly name: string;
  readonly budgetWarning: ((w: BudgetWarning) => void) | undefined;
}

/** Marks options that {@link resolveBudgetOptions} produced: a user's key can never pass for it. */
const RESOLVED = Symbol('resolved budget');

function isResolved(options: BudgetOptions | ResolvedBudget): options is ResolvedBudget {
  return (options as { [RESOLVED]?: true })[RESOLVED] === true;
}

/** Validates {@link BudgetOptions}; throws `ConfigError` naming `cost.budget.<field>`. */
export function resolveBudgetOptions(options: BudgetOptions): ResolvedBudget {
  const p = 'cost.budget';
  if (typeof options !== 'object' || options === null) throw new ConfigError(p, 'an object');
  const money = (v: unknown, path: string): Femto => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(path, 'a positive finite number of USD');
    return usdToFemto(v);
  };
  const limit = money(options.limitUsd, `${p}.limitUsd`);
  const perUser = options.perUser === undefined ? undefined : money(options.perUser, `${p}.perUser`);
  const window = options.window ?? 'day';
  if (!isBudgetWindow(window)) throw new ConfigError(`${p}.window`, "'day', 'month' or an integer number of ms ≥ 1000");
  const warnAt = options.warnAt ?? 0.8;
  if (typeof warnAt !== 'number' || !(warnAt > 0 && warnAt <= 1)) throw new ConfigError(`${p}.warnAt`, 'a number in (0, 1]');
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '' || /[{}]/.test(name)) {
    throw new ConfigError(`${p}.name`, 'a non-empty string without braces');
  }
  if (options.budgetWarning !== undefined && typeof options.budgetWarning !== 'function') {
    throw new ConfigError(`${p}.budgetWarning`, 'a function');
  }
  return {
    limit,
    perUser,
    window,
    warnAt,
    warnPpm: parseDecimal(warnAt.toFixed(6), 6),
    now: options.now ?? Date.now,
    name,
    budgetWarning: options.budgetWarning,
    [RESOLVED]: true,
  } as ResolvedBudget;
}

/** The warning threshold of a limit (rounded up). */
export function warnThreshold(limit: Femto, warnPpm: bigint): Femto {
  return ceilDiv(limit * warnPpm, 1_000_000n);
}

/** Calls the warning callback, swallowing its exceptions. */
export function emitWarning(cfg: ResolvedBudget, w: BudgetWarning): void {
  if (!cfg.budgetWarning) return;
  try {
    cfg.budgetWarning(w);
  } catch {
    // A listener failure must never fail the call.
  }
}

/** Builds the error for a refused reservation. */
export function exceeded(
  scope: BudgetScope,
  user: string | undefined,
  limit: Femto,
  spent: Femto,
  reserved: Femto,
  requested: Femto,
  windowEnd: number,
  now: number,
): BudgetExceededError {
  return new BudgetExceededError({
    scope,
    ...(user !== undefined ? { user } : {}),
    limitUsd: femtoToUsd(limit),
    spentUsd: femtoToUsd(spent),
    reservedUsd: femtoToUsd(reserved),
    requestedUsd: femtoToUsd(requested),
    windowResetAt: windowEnd,
    retryAfterMs: Math.max(0, windowEnd - now),
  });
}

interface Tally {
  spent: Femto;
  reserved: Femto;
}

interface WindowState {
  readonly start: number;
  readonly end: number;
  readonly global: Tally;
  readonly users: Map<string, Tally>;
  warned: boolean;
  readonly warnedUsers: Set<string>;
  open: number;
}

interface Held {
  readonly window: WindowState;
  readonly femto: Femto;
  readonly user: string | undefined;
}

function userOf(u: string | null | undefined): string | undefined {
  return typeof u === 'string' && u !== '' ? u : undefined;
}

/**
 * In-memory budget: synchronous reservations against a global limit (and optionally a per-user limit)
 * per fixed window. Single-threaded JavaScript makes each method atomic, so concurrent calls can never
 * overshoot: a reservation only succeeds when `spent + reserved + request ≤ limit`, and settled spend
 * only replaces reservations, so the settled total stays ≤ the limit as long as each actual cost is at
 * most its reservation (a larger actual cost is still recorded, and further reservations are refused).
 *
 * A reservation belongs to the window in which it was made; settling it after the window rolled over
 * charges that (old) window. Memory: one tally per user active in the current window, plus finished
 * windows only while they still have reservations in flight.
 */
export class BudgetManager implements BudgetGate {
  /** The validated options. */
  readonly config: ResolvedBudget;
  readonly #windows = new Map<number, WindowState>();
  readonly #held = new Map<string, Held>();
  readonly #store: 'memory' | 'local';
  #seq = 0;

  /** @param store how reservations are labelled (`'local'` when used as the Redis store's fallback). */
  constructor(options: BudgetOptions | ResolvedBudget, store: 'memory' | 'local' = 'memory') {
    this.config = isResolved(options) ? options : resolveBudgetOptions(options);
    this.#store = store;
  }

  /**
   * Reserves the worst-case cost. Throws `BudgetExceededError` — with no side effect — when the global
   * (or the user's) `spent + reserved + usd` would exceed the limit.
   */
  reserve(request: ReserveRequest): Reservation {
    const now = this.config.now();
    const w = this.#current(now);
    const femto = amountToFemto(request.usd);
    const user = userOf(request.user);
    const { limit, perUser } = this.config;
    if (w.global.spent + w.global.reserved + femto > limit) {
      throw exceeded('global', undefined, limit, w.global.spent, w.global.reserved, femto, w.end, now);
    }
    let tally: Tally | undefined;
    if (user !== undefined && perUser !== undefined) {
      tally = w.users.get(user) ?? { spent: 0n, reserved: 0n };
      if (tally.spent + tally.reserved + femto > perUser) {
        throw exceeded('user', user, perUser, tally.spent, tally.reserved, femto, w.end, now);
      }
      w.users.set(user, tally);
      tally.reserved += femto;
    }
    w.global.reserved += femto;
    w.open += 1;
    const id = `${this.#store}-${(++this.#seq).toString(36)}`;
    this.#held.set(id, { window: w, femto, user: tally ? user : undefined });
    return Object.freeze({
      id,
      user,
      usd: femtoToUsd(femto),
      exact: formatFemto(femto),
      windowStart: w.start,
      windowResetAt: w.end,
      store: this.#store,
    });
  }

  /** Replaces the reservation with the actual cost (once). Fires `budgetWarning` on a threshold crossing. */
  settle(reservation: Reservation, actual: UsdAmount): boolean {
    const held = this.#take(reservation);
    if (!held) return false;
    const femto = amountToFemto(actual);
    const { window: w } = held;
    w.global.spent += femto;
    if (held.user !== undefined) {
      const t = w.users.get(held.user);
      if (t) t.spent += femto;
    }
    this.#warn(w, held.user);
    return true;
  }

  /** Gives the reservation back (once). */
  release(reservation: Reservation): boolean {
    return this.#take(reservation) !== undefined;
  }

  /**
   * Adds spend that had no reservation (e.g. a call the budget did not gate) to the current window.
   * Never refuses. Fires `budgetWarning` on a crossing.
   */
  charge(usd: UsdAmount, user?: string | null): void {
    const w = this.#current(this.config.now());
    const femto = amountToFemto(usd);
    w.global.spent += femto;
    const u = userOf(user);
    if (u !== undefined && this.config.perUser !== undefined) {
      const t = w.users.get(u) ?? { spent: 0n, reserved: 0n };
      t.spent += femto;
      w.users.set(u, t);
    }
    this.#warn(w, u);
  }

  /** Current window figures (and `user`'s, when a per-user limit is configured). */
  state(user?: string): BudgetState {
    const now = this.config.now();
    const w = this.#current(now);
    const { limit, perUser } = this.config;
    const remaining = limit - w.global.spent - w.global.reserved;
    const u = userOf(user);
    let userState: UserBudgetState | undefined;
    if (u !== undefined && perUser !== undefined) {
      const t = w.users.get(u) ?? { spent: 0n, reserved: 0n };
      const r = perUser - t.spent - t.reserved;
      userState = {
        user: u,
        limitUsd: femtoToUsd(perUser),
        spentUsd: femtoToUsd(t.spent),
        reservedUsd: femtoToUsd(t.reserved),
        remainingUsd: femtoToUsd(r > 0n ? r : 0n),
      };
    }
    return {
      limitUsd: femtoToUsd(limit),
      spentUsd: femtoToUsd(w.global.spent),
      reservedUsd: femtoToUsd(w.global.reserved),
      remainingUsd: femtoToUsd(remaining > 0n ? remaining : 0n),
      windowStart: w.start,
      windowResetAt: w.end,
      ...(perUser !== undefined ? { perUserLimitUsd: femtoToUsd(perUser) } : {}),
      ...(userState ? { user: userState } : {}),
      asOf: now,
      source: this.#store,
    };
  }

  /** Exact settled spend of the current window (femto-dollars), for tests and the shared store. */
  spentFemto(user?: string): Femto {
    const w = this.#current(this.config.now());
    if (user === undefined) return w.global.spent;
    return w.users.get(user)?.spent ?? 0n;
  }

  /** Reservations in flight (all windows). */
  inFlight(): number {
    return this.#held.size;
  }

  #take(reservation: Reservation): Held | undefined {
    const held = this.#held.get(reservation.id);
    if (!held) return undefined;
    this.#held.delete(reservation.id);
    const { window: w } = held;
    w.global.reserved -= held.femto;
    if (held.user !== undefined) {
      const t = w.users.get(held.user);
      if (t) t.reserved -= held.femto;
    }
    w.open -= 1;
    this.#gc();
    return held;
  }

  #warn(w: WindowState, user: string | undefined): void {
    const { limit, perUser, warnPpm, warnAt } = this.config;
    if (!w.warned && w.global.spent >= warnThreshold(limit, warnPpm)) {
      w.warned = true;
      emitWarning(this.config, {
        scope: 'global',
        limitUsd: femtoToUsd(limit),
        spentUsd: femtoToUsd(w.global.spent),
        warnAt,
        windowStart: w.start,
        windowResetAt: w.end,
      });
    }
    if (user === undefined || perUser === undefined || w.warnedUsers.has(user)) return;
    const t = w.users.get(user);
    if (t && t.spent >= warnThreshold(perUser, warnPpm)) {
      w.warnedUsers.add(user);
      emitWarning(this.config, {
        scope: 'user',
        user,
        limitUsd: femtoToUsd(perUser),
        spentUsd: femtoToUsd(t.spent),
        warnAt,
        windowStart: w.start,
        windowResetAt: w.end,
      });
    }
  }

  #current(now: number): WindowState {
    const { start, end } = windowBounds(this.config.window, now);
    let w = this.#windows.get(start);
    if (!w) {
      w = {
        start,
        end,
        global: { spent: 0n, reserved: 0n },
        users: new Map(),
        warned: false,
        warnedUsers: new Set(),
        open: 0,
      };
      this.#windows.set(start, w);
      this.#gc(start);
    }
    return w;
  }

  /** Drops windows that are over and hold no reservation. */
  #gc(current?: number): void {
    const keep = current ?? windowBounds(this.config.window, this.config.now()).start;
    for (const [start, w] of this.#windows) if (start !== keep && w.open === 0 && start < keep) this.#windows.delete(start);
  }
}
