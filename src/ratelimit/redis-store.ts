/**
 * Buckets shared across processes through Redis (ioredis). Each scope's three buckets live in one
 * hash, `<keyPrefix>{<scope>}:b` (the braces make it a Redis Cluster hash tag), and every operation is
 * one atomic Lua script run on the Redis server's clock: reserve (all three or none, else how long
 * to wait), adjust (settle), sync (header learning) and pause (429).
 *
 * Scripts run through the shared Redis core (`src/redis/scripts.ts`: EVALSHA, EVAL on `NOSCRIPT`, a
 * deadline per command). Keys expire after `keyTtlMs` of disuse; a lost key
 * (expiry, FLUSHDB, restart without persistence) is re-seeded from the calling process's current view
 * of the scope — its last learned limits and its local level — never an error.
 *
 * Every command is bounded by `commandDeadlineMs`: a Redis that does not answer is reported as a
 * failure (the limiter then falls back or fails, per `onRedisError`) instead of stalling callers.
 *
 * @module
 */
import Redis from 'ioredis';
import { ADJUST_SCRIPT } from './lua/adjust';
import { PAUSE_SCRIPT } from './lua/pause';
import { RESERVE_SCRIPT } from './lua/reserve';
import { STARTUP_SCRIPT } from './lua/startup';
import { SYNC_SCRIPT } from './lua/sync';
import { type BucketSyncUpdate, type ScopeSeed, type SharedBucketStore, type StoreReserveResult } from './store';
import { DIMENSIONS, type Demand, type Dimension } from './types';
import { luaScript, runScript, withDeadline, type LuaScript } from '../redis/scripts';

export { RedisNoAnswerError } from '../redis/scripts';

/** Options of {@link RedisBucketStore}. */
export interface RedisBucketStoreOptions {
  /** Prefix of every key. Default `'rc:rl:'`. */
  keyPrefix?: string;
  /** Expiry of a scope's hash, refreshed on every use, ms. Default `600000` (10 minutes). */
  keyTtlMs?: number;
  /** A command not answered within this many ms counts as a Redis failure. Default `1000`. */
  commandDeadlineMs?: number;
}

const RESERVE = luaScript(RESERVE_SCRIPT);
const ADJUST = luaScript(ADJUST_SCRIPT);
const SYNC = luaScript(SYNC_SCRIPT);
const PAUSE = luaScript(PAUSE_SCRIPT);
const STARTUP = luaScript(STARTUP_SCRIPT);

function num(x: number): string {
  if (x === Infinity) return '-1';
  return Number.isFinite(x) ? String(x) : '0';
}

function escapeScope(scope: string): string {
  return scope.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

/** Shared buckets in Redis. Pass it as `store` to {@link RateLimiter}. */
export class RedisBucketStore implements SharedBucketStore {
  /** The ioredis client in use. */
  readonly client: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly ttl: string;
  private readonly deadlineMs: number;

  /**
   * @param redis - An ioredis client (left open by {@link close}: it is yours), or a Redis URL (the
   *   store creates the client and closes it on {@link close}).
   * @param opts - Key prefix, key expiry, command deadline.
   */
  constructor(redis: Redis | string, opts: RedisBucketStoreOptions = {}) {
    if (typeof redis === 'string') {
      this.client = new Redis(redis, { maxRetriesPerRequest: 1 });
      this.owned = true;
    } else {
      this.client = redis;
      this.owned = false;
    }
    this.prefix = opts.keyPrefix ?? 'rc:rl:';
    this.ttl = String(Math.max(1, Math.round(opts.keyTtlMs ?? 600_000)));
    this.deadlineMs = opts.commandDeadlineMs ?? 1000;
  }

  /** The hash holding a scope's buckets. */
  keyOf(scope: string): string {
    return `${this.prefix}{${escapeScope(scope)}}:b`;
  }

  /** From the ioredis status: `ready`; `pending` while (first) connecting; `down` while reconnecting or closed. */
  connectionState(): 'ready' | 'pending' | 'down' {
    const status = this.client.status;
    if (status === 'ready') return 'ready';
    if (status === 'wait' || status === 'connecting' || status === 'connect') return 'pending';
    return 'down';
  }

  /** Run the reserve script: all three dimensions or none, else how long to wait. */
  async reserve(scope: string, demand: Demand, seed: ScopeSeed): Promise<StoreReserveResult> {
    const reply = await this.run(RESERVE, scope, seed, [num(demand.requests), num(demand.inputTokens), num(demand.outputTokens)]);
    if (!Array.isArray(reply)) throw new Error('Unexpected reply from the reserve script');
    const status = Number(reply[0]);
    if (status === 1) return { kind: 'ok' };
    if (status === -1) {
      return { kind: 'capacity', dimension: DIMENSIONS[Number(reply[1]) - 1] as Dimension, capacity: Number(reply[2]) };
    }
    const waitMs = Number(reply[1]);
    const reason = Number(reply[2]);
    return {
      kind: 'wait',
      waitMs: waitMs < 0 ? Infinity : waitMs,
      reason: reason === 0 ? 'pause' : (DIMENSIONS[reason - 1] as Dimension),
    };
  }

  /** Run the adjust script (settlement: give back or charge per dimension). */
  async adjust(scope: string, delta: readonly [number, number, number], seed: ScopeSeed): Promise<void> {
    await this.run(ADJUST, scope, seed, delta.map(num));
  }

  /** Run the sync script (capacities, rates and level ceilings learned from headers). */
  async sync(
    scope: string,
    updates: readonly [BucketSyncUpdate | null, BucketSyncUpdate | null, BucketSyncUpdate | null],
    seed: ScopeSeed,
  ): Promise<void> {
    const args: string[] = [];
    for (const u of updates) {
      if (u === null || u.capacity === Infinity) args.push('0', '0', '0', '0');
      else args.push('1', num(u.capacity), num(u.refillPerMs), num(Math.min(u.levelCeiling, u.capacity)));
    }
    await this.run(SYNC, scope, seed, args);
  }

  /** Run the pause script: block the scope for everyone for `durationMs` on the Redis clock. */
  async pause(scope: string, durationMs: number, seed: ScopeSeed): Promise<void> {
    await this.run(PAUSE, scope, seed, [num(Math.max(0, durationMs))]);
  }

  /** Run the startup script: record (`> 0`) or give back (`< 0`) demand admitted before the limits were known. */
  async startup(scope: string, delta: readonly [number, number, number], seed: ScopeSeed): Promise<void> {
    await this.run(STARTUP, scope, seed, delta.map(num));
  }

  /** PING within the command deadline. */
  async ping(): Promise<void> {
    await withDeadline(this.client.ping(), this.deadlineMs);
  }

  /** Disconnect the client if this store created it (from a URL); a client you passed stays open. */
  async close(): Promise<void> {
    if (this.owned) this.client.disconnect();
  }

  private run(s: LuaScript, scope: string, seed: ScopeSeed, extra: readonly string[]): Promise<unknown> {
    const args: string[] = [this.ttl];
    for (const b of seed) args.push(num(b.capacity), num(b.refillPerMs), num(b.capacity === Infinity ? 0 : b.level));
    args.push(...extra);
    return withDeadline(runScript(this.client, s, [this.keyOf(scope)], args), this.deadlineMs);
  }
}
