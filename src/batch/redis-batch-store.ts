import type { Redis } from 'ioredis';
import { luaScript, runScript, withDeadline } from '../redis/scripts';

/** What is kept of one call of a pending batch: never its prompt, only what identifies and prices it. */
export interface PersistedCall {
  readonly customId: string;
  readonly model?: string;
  readonly user?: string;
  readonly tags?: readonly string[];
  readonly ref?: string;
}

/** A batch this library sent and whose results nobody has collected yet. */
export interface PersistedBatch {
  readonly batchId: string;
  /** Epoch ms of submission. */
  readonly submittedAt: number;
  readonly calls: readonly PersistedCall[];
}

/** Renews a claim only while this process holds it (it may have lapsed and been taken over). */
const RENEW = luaScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`);

/** Releases a claim only if this process holds it. */
const RELEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const COMMAND_MS = 2_000;

/**
 * Pending batches in Redis, so that a batch outlives the process that sent it:
 *
 *   <prefix>batch:pending           HASH batchId → JSON {@link PersistedBatch}
 *   <prefix>batch:claim:<batchId>   STRING owner id, PX claimMs — the process collecting the batch
 *
 * The sender claims its batch at submission and renews the claim at every status check; `resume()` in
 * any process collects the batches whose claim has lapsed (a crash) or was released (`close()`). A batch
 * leaves the hash once its results were handed out, so no batch is collected twice and none is forgotten.
 */
export class RedisBatchStore {
  readonly #redis: Redis;
  readonly #pendingKey: string;
  readonly #claimPrefix: string;

  /**
   * @param redis - The client's Redis connection.
   * @param prefix - The client's `redisPrefix`.
   * @param owner - This process's (client runtime's) claim token.
   * @param claimMs - Claim lease.
   */
  constructor(
    redis: Redis,
    prefix: string,
    readonly owner: string,
    private readonly claimMs: number,
  ) {
    this.#redis = redis;
    this.#pendingKey = `${prefix}batch:pending`;
    this.#claimPrefix = `${prefix}batch:claim:`;
  }

  /** Records a batch just sent, claimed by this process. */
  async save(batch: PersistedBatch): Promise<void> {
    const multi = this.#redis
      .multi()
      .hset(this.#pendingKey, batch.batchId, JSON.stringify(batch))
      .set(this.#claimPrefix + batch.batchId, this.owner, 'PX', this.claimMs);
    await withDeadline(multi.exec(), COMMAND_MS);
  }

  /** Extends this process's claim; false when another process has taken the batch over. */
  async renew(batchId: string): Promise<boolean> {
    const result = await withDeadline(runScript(this.#redis, RENEW, [this.#claimPrefix + batchId], [this.owner, String(this.claimMs)]), COMMAND_MS);
    return result === 1;
  }

  /** Claims a batch whose claim has lapsed or was released; false when a live process holds it. */
  async claim(batchId: string): Promise<boolean> {
    const result = await withDeadline(this.#redis.set(this.#claimPrefix + batchId, this.owner, 'PX', this.claimMs, 'NX'), COMMAND_MS);
    return result === 'OK';
  }

  /** Whether a batch is still pending, and in how many ms its current claim lapses unless renewed. */
  async claimState(batchId: string): Promise<{ pending: boolean; lapsesInMs: number }> {
    const results = await withDeadline(this.#redis.multi().hexists(this.#pendingKey, batchId).pttl(this.#claimPrefix + batchId).exec(), COMMAND_MS);
    const [pending, ttl] = (results ?? []).map(([, value]) => value);
    return { pending: pending === 1, lapsesInMs: typeof ttl === 'number' && ttl > 0 ? ttl : 0 };
  }

  /** Lets another process collect the batch at once (at `close()`). */
  async release(batchId: string): Promise<void> {
    await withDeadline(runScript(this.#redis, RELEASE, [this.#claimPrefix + batchId], [this.owner]), COMMAND_MS);
  }

  /** Forgets a batch whose results were handed out (or that was cancelled with nobody waiting). */
  async remove(batchId: string): Promise<void> {
    await withDeadline(this.#redis.multi().hdel(this.#pendingKey, batchId).del(this.#claimPrefix + batchId).exec(), COMMAND_MS);
  }

  /** Every pending batch, claimed or not. Entries that do not parse are skipped. */
  async list(): Promise<PersistedBatch[]> {
    const all = await withDeadline(this.#redis.hgetall(this.#pendingKey), COMMAND_MS);
    const out: PersistedBatch[] = [];
    for (const value of Object.values(all)) {
      try {
        const batch = JSON.parse(value) as PersistedBatch;
        if (typeof batch.batchId === 'string' && Array.isArray(batch.calls)) out.push(batch);
      } catch {
        // Not ours, or damaged: nothing to collect from it.
      }
    }
    return out.sort((a, b) => a.submittedAt - b.submittedAt);
  }
}
