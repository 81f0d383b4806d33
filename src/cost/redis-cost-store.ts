import { Redis } from 'ioredis';
import { ConfigError } from '../errors/config-error';
import { CostStoreUnavailableError } from './errors';
import {
  Agg,
  Party,
  getOr,
  toSummary,
  type CostSummary,
  type NormalizedLedgerEntry,
  type SummaryQuery,
} from './ledger-aggregate';
import { sinceOf, type SharedLedgerSink } from './ledger';
import { CHARGE_LUA, RESERVE_LUA, SETTLE_LUA } from './lua/budget-scripts';
import { LEDGER_RECORD_LUA } from './lua/ledger-script';
import { ceilDiv, type Femto } from './money';
import { DAY_MS, floorTo, utcDay, utcMonth } from './window';
import { luaScript, runScript, withDeadline, type LuaScript } from '../redis/scripts';

/** What the store does when Redis cannot be reached. */
export type RedisErrorMode = 'local' | 'fail';

/** Events of the store (wire them to the client's log and event hub). */
export type CostStoreEvent =
  | {
      /** Redis failed (first failure of an outage; not repeated while it stays down). */
      readonly type: 'redisError';
      /** The operation that failed, e.g. `'budget.reserve'`. */
      readonly operation: string;
      /** The client error. */
      readonly error: unknown;
      /** What happens meanwhile. */
      readonly mode: RedisErrorMode;
      /** Epoch ms. */
      readonly at: number;
    }
  | {
      /** Redis answered again after an outage. */
      readonly type: 'redisRecovered';
      /** The operation that succeeded. */
      readonly operation: string;
      /** Epoch ms. */
      readonly at: number;
    };

/** Options of {@link RedisCostStore}. */
export interface RedisCostStoreOptions {
  /**
   * An ioredis client (not closed by the store) or a URL (the store creates, owns and closes a client
   * with `maxRetriesPerRequest: 1`).
   */
  readonly redis: Redis | string;
  /** Key prefix. Default `'rc:cost:'`. */
  readonly prefix?: string;
  /**
   * When Redis is unreachable: `'local'` (default) admits calls against a per-process in-memory budget
   * (so limits hold per process, not across processes, until Redis returns) and emits `redisError`;
   * `'fail'` refuses reservations with `CostStoreUnavailableError`. Settlements made during an outage are
   * always kept locally and never throw.
   */
  readonly onRedisError?: RedisErrorMode;
  /** Store events (`redisError`, `redisRecovered`). Exceptions are swallowed. Default: none. */
  readonly onEvent?: (event: CostStoreEvent) => void;
  /** Longest wait for one Redis operation before treating Redis as down, ms. Default 1000. */
  readonly commandDeadlineMs?: number;
  /** After a failure, go straight to the fallback for this long before trying Redis again, ms. Default 5000. */
  readonly retryRedisAfterMs?: number;
  /**
   * A held reservation older than this is released by the next reservation in its window (its process
   * presumably died); a late settlement still adds its spend. Default 3,600,000 (1 h).
   */
  readonly reservationTtlMs?: number;
  /** Budget keys expire this long after their window ends, ms. Default 86,400,000 (1 day). */
  readonly keyGraceMs?: number;
  /** Shared-ledger UTC-day hashes are kept this many days after their last write. Default 400. */
  readonly ledgerDayRetentionDays?: number;
  /** Shared-ledger UTC-month hashes are kept this many days after their last write. Default 1100. */
  readonly ledgerMonthRetentionDays?: number;
  /** Distinct models / users / tags per shared-ledger hash before `'(other)'`. Default 256 / 10,000 / 1,000. */
  readonly ledgerCaps?: { readonly models?: number; readonly users?: number; readonly tags?: number };
  /** Clock for the shared ledger's windows and TTLs (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Who is writing, and what it knows it spent in the window: lets the scripts restore the spend of a
 * process that Redis lost (see `lua/budget-scripts.ts`, "Contributions").
 */
export interface Contributor {
  /** Unique per budget manager instance. */
  readonly id: string;
  /** Its spend in the window, in whole nano-dollars (each amount rounded up). */
  readonly mineNano: bigint;
}

/** Parsed reply of the reserve script. */
export type ReserveReply =
  | { readonly ok: true; readonly spent: Femto; readonly reserved: Femto }
  | { readonly ok: false; readonly scope: 'global' | 'user'; readonly spent: Femto; readonly reserved: Femto };

/** Parsed reply of the settle/release/charge scripts. */
export interface SettleReply {
  /** `false` when the reservation was already settled, released or unknown. */
  readonly applied: boolean;
  /** This call first crossed the global warning threshold. */
  readonly warnGlobal: boolean;
  /** This call first crossed the user's warning threshold. */
  readonly warnUser: boolean;
  /** Global settled spend after the call. */
  readonly spent: Femto;
  /** Global reserved after the call. */
  readonly reserved: Femto;
  /** The user's settled spend after the call (0 when no user). */
  readonly userSpent: Femto;
}

/** Figures of one window read from Redis. */
export interface WindowFigures {
  readonly spent: Femto;
  readonly reserved: Femto;
  readonly userSpent: Femto;
  readonly userReserved: Femto;
}

const RESERVE = luaScript(RESERVE_LUA);
const SETTLE = luaScript(SETTLE_LUA);
const CHARGE = luaScript(CHARGE_LUA);
const LEDGER = luaScript(LEDGER_RECORD_LUA);

const NANO = 1_000_000n; // femto per nano-dollar

/** Splits femto-dollars into the scripts' (nano, femto-remainder) decimal strings. */
function split(femto: Femto): [string, string] {
  return [(femto / NANO).toString(), (femto % NANO).toString()];
}

/** An amount as counted in a process's contribution: whole nano-dollars, rounded up. */
export function contributionNano(femto: Femto): bigint {
  return ceilDiv(femto, NANO);
}

function contributorArgs(c: Contributor | undefined): [string, string] {
  return c ? [c.id, c.mineNano.toString()] : ['', '0'];
}

function big(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}

function fromParts(n: unknown, f: unknown): Femto {
  return big(n) * NANO + big(f);
}

function posInt(v: number | undefined, dflt: number, path: string): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 1) throw new ConfigError(path, 'a positive integer');
  return x;
}

/**
 * The Redis side of the cost engine: atomic budget scripts (reserve / settle / release / charge) and
 * the shared ledger aggregate. Budgets survive process restarts (the window's spend lives in Redis
 * until the window ends plus `keyGraceMs`).
 *
 * Key layout (default prefix `rc:cost:`):
 * - `rc:cost:{budget:<name>:<windowStart>}` — hash of the window's spend/reservations (global `g:*`, per
 *   user `u:<user>:*`); `…:res` — reservation states; `…:exp` — reservation expiries. See
 *   `lua/budget-scripts.ts`.
 * - `rc:cost:{ledger:<name>}:life`, `…:d:<YYYY-MM-DD>`, `…:m:<YYYY-MM>` — ledger aggregates. See
 *   `lua/ledger-script.ts`.
 *
 * Failure behaviour: an operation that errors or gets no answer within `commandDeadlineMs` marks Redis
 * down for `retryRedisAfterMs` (one `redisError` event per outage, `redisRecovered` when it answers
 * again); meanwhile callers fall back as `onRedisError` says.
 */
export class RedisCostStore {
  /** The ioredis client in use. */
  readonly client: Redis;
  /** Key prefix. */
  readonly prefix: string;
  /** Behaviour when Redis is unreachable. */
  readonly onRedisError: RedisErrorMode;
  /** Reservation expiry, ms. */
  readonly reservationTtlMs: number;
  /** Budget keys' life after their window ends, ms. */
  readonly keyGraceMs: number;
  /** Clock for the ledger. */
  readonly now: () => number;
  /** Shared-ledger day hashes' retention, days. */
  readonly ledgerDayRetentionDays: number;
  readonly #owned: boolean;
  readonly #deadlineMs: number;
  readonly #retryAfterMs: number;
  readonly #onEvent: ((event: CostStoreEvent) => void) | undefined;
  readonly #dayTtlMs: number;
  readonly #monthTtlMs: number;
  readonly #caps: { readonly models: number; readonly users: number; readonly tags: number };
  #downUntil = 0;
  #down = false;

  constructor(options: RedisCostStoreOptions) {
    const p = 'redis';
    if (typeof options.redis === 'string') {
      this.client = new Redis(options.redis, { maxRetriesPerRequest: 1 });
      this.#owned = true;
      // An owned client's connection errors surface through our events, not as unhandled 'error' events.
      this.client.on('error', () => undefined);
    } else if (options.redis && typeof options.redis === 'object') {
      this.client = options.redis;
      this.#owned = false;
    } else {
      throw new ConfigError(p, 'an ioredis client or a redis:// URL');
    }
    this.prefix = options.prefix ?? 'rc:cost:';
    if (typeof this.prefix !== 'string') throw new ConfigError('cost.redis.prefix', 'a string');
    this.onRedisError = options.onRedisError ?? 'local';
    if (this.onRedisError !== 'local' && this.onRedisError !== 'fail') {
      throw new ConfigError('cost.redis.onRedisError', "'local' or 'fail'");
    }
    this.#onEvent = options.onEvent;
    this.#deadlineMs = posInt(options.commandDeadlineMs, 1000, 'cost.redis.commandDeadlineMs');
    this.#retryAfterMs = posInt(options.retryRedisAfterMs, 5000, 'cost.redis.retryRedisAfterMs');
    this.reservationTtlMs = posInt(options.reservationTtlMs, 3_600_000, 'cost.redis.reservationTtlMs');
    this.keyGraceMs = posInt(options.keyGraceMs, DAY_MS, 'cost.redis.keyGraceMs');
    this.ledgerDayRetentionDays = posInt(options.ledgerDayRetentionDays, 400, 'cost.redis.ledgerDayRetentionDays');
    this.#dayTtlMs = this.ledgerDayRetentionDays * DAY_MS;
    this.#monthTtlMs = posInt(options.ledgerMonthRetentionDays, 1100, 'cost.redis.ledgerMonthRetentionDays') * DAY_MS;
    this.#caps = {
      models: posInt(options.ledgerCaps?.models, 256, 'cost.redis.ledgerCaps.models'),
      users: posInt(options.ledgerCaps?.users, 10_000, 'cost.redis.ledgerCaps.users'),
      tags: posInt(options.ledgerCaps?.tags, 1_000, 'cost.redis.ledgerCaps.tags'),
    };
    this.now = options.now ?? Date.now;
  }

  /** Whether the store currently treats Redis as down (falling back). */
  get degraded(): boolean {
    return this.#down;
  }

  /** The three keys of a budget window. */
  budgetKeys(name: string, windowStart: number): [string, string, string] {
    const base = `${this.prefix}{budget:${name}:${windowStart}}`;
    return [base, `${base}:res`, `${base}:exp`];
  }

  /** Key of a shared-ledger hash: `'life'`, `'d:YYYY-MM-DD'` or `'m:YYYY-MM'`. */
  ledgerKey(name: string, period: string): string {
    return `${this.prefix}{ledger:${name}}:${period}`;
  }

  /** Atomically reserves `femto` in a window (see `RESERVE_LUA`). */
  async reserve(args: {
    readonly name: string;
    readonly windowStart: number;
    readonly windowEnd: number;
    readonly id: string;
    readonly user: string | undefined;
    readonly femto: Femto;
    readonly limit: Femto;
    readonly userLimit: Femto | undefined;
    readonly now: number;
    readonly contributor?: Contributor | undefined;
  }): Promise<ReserveReply> {
    const reply = await this.#run('budget.reserve', RESERVE, this.budgetKeys(args.name, args.windowStart), [
      args.id,
      args.userLimit === undefined ? '' : (args.user ?? ''),
      ceilDiv(args.femto, NANO).toString(),
      (args.limit / NANO).toString(),
      args.userLimit === undefined ? '-1' : (args.userLimit / NANO).toString(),
      String(args.now),
      String(args.now + this.reservationTtlMs),
      String(this.#keyTtl(args.windowEnd, args.now)),
      ...contributorArgs(args.contributor),
    ]);
    const r = Array.isArray(reply) ? reply : [];
    if (Number(r[0]) === 1) return { ok: true, spent: fromParts(r[1], r[2]), reserved: big(r[3]) * NANO };
    return {
      ok: false,
      scope: Number(r[1]) === 2 ? 'user' : 'global',
      spent: fromParts(r[2], r[3]),
      reserved: big(r[4]) * NANO,
    };
  }

  /** Atomically settles (adds `femto`) or releases a reservation, exactly once (see `SETTLE_LUA`). */
  async settle(args: {
    readonly name: string;
    readonly windowStart: number;
    readonly windowEnd: number;
    readonly id: string;
    readonly mode: 'settle' | 'release';
    readonly femto: Femto;
    readonly warnAt: Femto;
    readonly userWarnAt: Femto | undefined;
    readonly now: number;
    readonly contributor?: Contributor | undefined;
  }): Promise<SettleReply> {
    const [n, f] = split(args.femto);
    const reply = await this.#run('budget.' + args.mode, SETTLE, this.budgetKeys(args.name, args.windowStart), [
      args.id,
      args.mode,
      n,
      f,
      ceilDiv(args.warnAt, NANO).toString(),
      args.userWarnAt === undefined ? '-1' : ceilDiv(args.userWarnAt, NANO).toString(),
      String(this.#keyTtl(args.windowEnd, args.now)),
      ...contributorArgs(args.contributor),
      args.mode === 'settle' ? contributionNano(args.femto).toString() : '0',
    ]);
    const r = Array.isArray(reply) ? reply : [];
    if (Number(r[0]) !== 1) {
      return { applied: false, warnGlobal: false, warnUser: false, spent: 0n, reserved: 0n, userSpent: 0n };
    }
    return {
      applied: true,
      warnGlobal: Number(r[1]) === 1,
      warnUser: Number(r[2]) === 1,
      spent: fromParts(r[3], r[4]),
      reserved: big(r[5]) * NANO,
      userSpent: fromParts(r[6], r[7]),
    };
  }

  /** Adds spend without a reservation (see `CHARGE_LUA`). */
  async charge(args: {
    readonly name: string;
    readonly windowStart: number;
    readonly windowEnd: number;
    readonly user: string | undefined;
    readonly femto: Femto;
    readonly warnAt: Femto;
    readonly userWarnAt: Femto | undefined;
    readonly now: number;
    readonly contributor?: Contributor | undefined;
  }): Promise<SettleReply> {
    const [n, f] = split(args.femto);
    const reply = await this.#run('budget.charge', CHARGE, this.budgetKeys(args.name, args.windowStart), [
      n,
      f,
      args.userWarnAt === undefined ? '' : (args.user ?? ''),
      ceilDiv(args.warnAt, NANO).toString(),
      args.userWarnAt === undefined ? '-1' : ceilDiv(args.userWarnAt, NANO).toString(),
      String(this.#keyTtl(args.windowEnd, args.now)),
      ...contributorArgs(args.contributor),
      contributionNano(args.femto).toString(),
    ]);
    const r = Array.isArray(reply) ? reply : [];
    return {
      applied: Number(r[0]) === 1,
      warnGlobal: Number(r[1]) === 1,
      warnUser: Number(r[2]) === 1,
      spent: fromParts(r[3], r[4]),
      reserved: big(r[5]) * NANO,
      userSpent: fromParts(r[6], r[7]),
    };
  }

  /** Reads a window's figures (global, and `user`'s). */
  async readWindow(name: string, windowStart: number, user: string | undefined): Promise<WindowFigures> {
    const [key] = this.budgetKeys(name, windowStart);
    const fields = ['g:sn', 'g:sf', 'g:rn'];
    if (user !== undefined) fields.push(`u:${user}:sn`, `u:${user}:sf`, `u:${user}:rn`);
    const r = await this.#guard('budget.read', () => this.client.hmget(key, ...fields));
    return {
      spent: fromParts(r[0], r[1]),
      reserved: big(r[2]) * NANO,
      userSpent: fromParts(r[3], r[4]),
      userReserved: big(r[5]) * NANO,
    };
  }

  /**
   * The shared ledger named `name` (default `'default'`): pass it as `CostLedger`'s `shared` option.
   * `record()` is fire-and-forget (errors become `redisError` events; the local ledger keeps the call).
   */
  ledger(name = 'default'): RedisLedger {
    if (typeof name !== 'string' || name === '' || /[{}]/.test(name)) {
      throw new ConfigError('cost.ledger.name', 'a non-empty string without braces');
    }
    return new RedisLedger(this, name);
  }

  /** Adds one entry to the shared ledger (day, month and lifetime hashes, atomically). */
  async recordLedger(name: string, e: NormalizedLedgerEntry): Promise<void> {
    const [n, f] = split(e.femto);
    const [sn, sf] = split(e.savedFemto);
    const keys = [this.ledgerKey(name, 'life'), this.ledgerKey(name, `d:${utcDay(e.at)}`), this.ledgerKey(name, `m:${utcMonth(e.at)}`)];
    await this.#run('ledger.record', LEDGER, keys, [
      e.model,
      e.user ?? '',
      n,
      f,
      String(e.inputTokens),
      String(e.outputTokens),
      String(e.cacheReadTokens),
      String(e.cacheWriteTokens),
      String(Math.trunc(e.at)),
      String(this.#dayTtlMs),
      String(this.#monthTtlMs),
      String(this.#caps.models),
      String(this.#caps.users),
      String(this.#caps.tags),
      sn,
      sf,
      ...e.tags,
    ]);
  }

  /** Reads ledger hashes (by period) in one round trip. */
  async readLedger(name: string, periods: readonly string[]): Promise<Record<string, string>[]> {
    return this.#guard('ledger.read', async () => {
      const pipe = this.client.pipeline();
      for (const period of periods) pipe.hgetall(this.ledgerKey(name, period));
      const results = (await pipe.exec()) ?? [];
      return results.map(([err, value]) => {
        if (err) throw err;
        return (value ?? {}) as Record<string, string>;
      });
    });
  }

  /** Closes the client if the store created it (a client passed in is left open). */
  async close(): Promise<void> {
    if (!this.#owned) return;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  /** Emits a store event, swallowing listener errors. */
  emit(event: CostStoreEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch {
      // never let a listener break cost accounting
    }
  }

  #keyTtl(windowEnd: number, now: number): number {
    return Math.max(1000, Math.ceil(windowEnd - now + this.keyGraceMs));
  }

  #run(operation: string, script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#guard(operation, () => runScript(this.client, script, keys, args));
  }


  /** Runs a Redis operation with the deadline and the down/recovered bookkeeping. */
  async #guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#down && Date.now() < this.#downUntil) {
      throw new CostStoreUnavailableError(operation, new Error('Redis marked down after a recent failure'));
    }
    try {
      const value = await withDeadline(fn(), this.#deadlineMs);
      if (this.#down) {
        this.#down = false;
        this.emit({ type: 'redisRecovered', operation, at: Date.now() });
      }
      return value;
    } catch (error) {
      this.#downUntil = Date.now() + this.#retryAfterMs;
      if (!this.#down) {
        this.#down = true;
        this.emit({ type: 'redisError', operation, error, mode: this.onRedisError, at: Date.now() });
      }
      throw new CostStoreUnavailableError(operation, error);
    }
  }
}

/** Parsed content of one ledger hash. */
interface LedgerParts {
  readonly total: Agg;
  readonly models: Map<string, Agg>;
  readonly users: Map<string, Party>;
  readonly tags: Map<string, Party>;
  readonly first: number | undefined;
}

function parseLedgerHash(hash: Record<string, string>): LedgerParts {
  const total = new Agg();
  const models = new Map<string, Agg>();
  const users = new Map<string, Party>();
  const tags = new Map<string, Party>();
  const applyAgg = (a: Agg, metric: string, value: string): void => {
    const v = big(value);
    switch (metric) {
      case 'n':
        a.femto += v * NANO;
        break;
      case 'f':
        a.femto += v;
        break;
      case 'sn':
        a.saved += v * NANO;
        break;
      case 'sf':
        a.saved += v;
        break;
      case 'req':
        a.requests += Number(v);
        break;
      case 'in':
        a.input += Number(v);
        break;
      case 'out':
        a.output += Number(v);
        break;
      case 'cr':
        a.cacheRead += Number(v);
        break;
      case 'cw':
        a.cacheWrite += Number(v);
        break;
    }
  };
  const applyParty = (p: Party, metric: string, value: string): void => {
    const v = big(value);
    if (metric === 'n') p.femto += v * NANO;
    else if (metric === 'f') p.femto += v;
    else if (metric === 'sn') p.saved += v * NANO;
    else if (metric === 'sf') p.saved += v;
    else if (metric === 'req') p.requests += Number(v);
  };
  for (const [field, value] of Object.entries(hash)) {
    const kind = field.slice(0, 2);
    if (kind === 'm:' || kind === 'u:' || kind === 't:') {
      const last = field.lastIndexOf(':');
      const name = field.slice(2, last);
      const metric = field.slice(last + 1);
      if (kind === 'm:') applyAgg(getOr(models, name, () => new Agg()), metric, value);
      else applyParty(getOr(kind === 'u:' ? users : tags, name, () => new Party()), metric, value);
    } else {
      applyAgg(total, field, value);
    }
  }
  const first = hash['first'] !== undefined ? Number(hash['first']) : undefined;
  return { total, models, users, tags, first };
}

/**
 * A shared ledger in Redis (implements `CostLedger`'s `shared` sink): lifetime, UTC-day and UTC-month
 * totals by model, user and tag, summed over every process.
 *
 * Precision of `summary({ sinceMs | days })`: the start is rounded down to the UTC day (at least the
 * requested window is counted); a start at or before the first recorded call gives the exact lifetime
 * totals; a start beyond the day retention gives the lifetime totals (`windowStart` = first call).
 */
export class RedisLedger implements SharedLedgerSink {
  readonly #store: RedisCostStore;
  readonly #pending = new Set<Promise<void>>();
  /** Ledger name (part of the keys). */
  readonly name: string;

  /** Use {@link RedisCostStore.ledger}. */
  constructor(store: RedisCostStore, name: string) {
    this.#store = store;
    this.name = name;
  }

  /** Fire-and-forget add (never throws; failures are reported through the store's events). */
  record(entry: NormalizedLedgerEntry): void {
    const p: Promise<void> = this.#store.recordLedger(this.name, entry).catch(() => undefined);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Waits until every `record()` issued so far has reached Redis (or failed). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Adds an entry and waits for Redis (rejects with `CostStoreUnavailableError` when down). */
  recordNow(entry: NormalizedLedgerEntry): Promise<void> {
    return this.#store.recordLedger(this.name, entry);
  }

  /** Shared totals for the whole life, since an instant, or the last `days` days (day precision). */
  async summary(query?: SummaryQuery): Promise<CostSummary> {
    const now = this.#store.now();
    const since = sinceOf(query, now);
    const [lifeHash] = await this.#store.readLedger(this.name, ['life']);
    const life = parseLedgerHash(lifeHash ?? {});
    const lifetime = (windowStart: number | null): CostSummary =>
      toSummary(life.total, life.models, life.users, life.tags, 'lifetime', windowStart);
    if (since === undefined) return lifetime(null);
    if (life.first === undefined || since <= life.first) return lifetime(since);
    const startDay = floorTo(since, DAY_MS);
    const days = Math.floor((floorTo(now, DAY_MS) - startDay) / DAY_MS) + 1;
    if (days > this.#store.ledgerDayRetentionDays) return lifetime(life.first);
    const periods: string[] = [];
    for (let d = 0; d < Math.max(days, 1); d++) periods.push(`d:${utcDay(startDay + d * DAY_MS)}`);
    const hashes = await this.#store.readLedger(this.name, periods);
    const total = new Agg();
    const models = new Map<string, Agg>();
    const users = new Map<string, Party>();
    const tags = new Map<string, Party>();
    for (const h of hashes) {
      const p = parseLedgerHash(h);
      total.merge(p.total);
      for (const [k, a] of p.models) getOr(models, k, () => new Agg()).merge(a);
      for (const [k, a] of p.users) getOr(users, k, () => new Party()).merge(a);
      for (const [k, a] of p.tags) getOr(tags, k, () => new Party()).merge(a);
    }
    return toSummary(total, models, users, tags, 'day', startDay);
  }

  /** Totals of one UTC month (`'YYYY-MM'`). */
  async month(yyyyMm: string): Promise<CostSummary> {
    return this.#period(`m:${yyyyMm}`, Date.parse(`${yyyyMm}-01T00:00:00Z`), 'month');
  }

  /** Totals of one UTC day (`'YYYY-MM-DD'`). */
  async day(yyyyMmDd: string): Promise<CostSummary> {
    return this.#period(`d:${yyyyMmDd}`, Date.parse(`${yyyyMmDd}T00:00:00Z`), 'day');
  }

  async #period(period: string, start: number, resolution: 'day' | 'month'): Promise<CostSummary> {
    const [h] = await this.#store.readLedger(this.name, [period]);
    const p = parseLedgerHash(h ?? {});
    return toSummary(p.total, p.models, p.users, p.tags, resolution, start);
  }
}

