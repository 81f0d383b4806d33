/**
 * Prompt-cache simulation for the fake server.
 *
 * Blocks carrying `cache_control: { type: 'ephemeral', ttl?: '5m' | '1h' }` — in `tools`, `system`
 * blocks or message content blocks, or via the body's top-level `cache_control` (which marks the
 * last block) — are *breakpoints*. The prompt prefix up to and including a breakpoint is cacheable
 * if it is at least `cacheMinTokens` long. Its key is a SHA-256 of the response model and the
 * prefix content (with `cache_control` markers removed), kept per server (= per organization).
 *
 * For a request, the longest prefix with a live entry — ending at any block boundary up to the last
 * breakpoint, like the API's automatic prefix check (without its 20-block lookback limit) — is a
 * **hit**: its tokens are reported as `cache_read_input_tokens` and that entry's TTL is refreshed.
 * Every later breakpoint is a **miss**: the tokens between the hit (or the start) and that breakpoint are reported as
 * cache writes, in `ephemeral_5m_input_tokens` or `ephemeral_1h_input_tokens` according to that
 * breakpoint's ttl, and the entry is stored with its TTL. `input_tokens` is what is left after the
 * last breakpoint. With a single breakpoint this is simply: miss → the whole prefix is written;
 * hit within the TTL → the whole prefix is read.
 *
 * Planning and committing are separate so a request that is rejected (rate-limited, faulted) does
 * not touch the cache.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { type CacheTtl, type PromptPiece } from './tokens';

const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** How a request's input tokens split between the cache and the rest. @internal */
export interface CachePlan {
  /** Tokens read from the cache. */
  readonly cacheRead: number;
  /** Tokens written with a 5-minute TTL. */
  readonly write5m: number;
  /** Tokens written with a 1-hour TTL. */
  readonly write1h: number;
  /** Uncached input tokens (`input_tokens`). */
  readonly input: number;
  /** Total input tokens (all of the above). */
  readonly total: number;
  /** Entry to refresh on commit (the hit). */
  readonly refreshKey?: string;
  /** Entries to store on commit (the misses). */
  readonly writes: ReadonlyArray<{ readonly key: string; readonly ttlMs: number }>;
}

interface Entry {
  expiresAt: number;
  readonly ttlMs: number;
}

/** Per-organization prompt cache keyed by prefix hash, with TTLs on an injected clock. @internal */
export class PromptCache {
  private readonly entries = new Map<string, Entry>();
  private commitsSinceSweep = 0;

  /** @param minTokens - Prefixes shorter than this are not cacheable. */
  constructor(private readonly minTokens: number) {}

  /** Number of stored (possibly expired, not yet swept) entries. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Works out the cache split for a request without changing the cache.
   *
   * @param model - The response model (aliases share entries with their dated id).
   * @param pieces - The request's prompt pieces, in order.
   * @param now - Current server clock, ms.
   */
  plan(model: string, pieces: readonly PromptPiece[], now: number): CachePlan {
    let total = 0;
    let hasMarker = false;
    for (const piece of pieces) {
      total += piece.tokens;
      if (piece.ttl !== undefined) hasMarker = true;
    }
    if (!hasMarker) return { cacheRead: 0, write5m: 0, write1h: 0, input: total, total, writes: [] };

    // Keys at every piece boundary up to the last breakpoint: a lookup may hit any earlier prefix
    // (like the API's automatic prefix check), but entries are only stored at breakpoints.
    let last = -1;
    for (let i = 0; i < pieces.length; i++) if (pieces[i]!.ttl !== undefined) last = i;
    const keys: string[] = [];
    const cumulative: number[] = [];
    const breakpoints: number[] = [];
    const hash = createHash('sha256');
    hash.update(model);
    let running = 0;
    for (let i = 0; i <= last; i++) {
      const piece = pieces[i]!;
      running += piece.tokens;
      hash.update('\u0000');
      hash.update(JSON.stringify(piece.keySource) ?? 'null');
      keys.push(hash.copy().digest('base64'));
      cumulative.push(running);
      if (piece.ttl !== undefined && running >= this.minTokens && running > 0) breakpoints.push(i);
    }

    let hitIndex = -1;
    for (let i = last; i >= 0 && breakpoints.length > 0; i--) {
      const entry = this.entries.get(keys[i]!);
      if (entry !== undefined && entry.expiresAt > now) {
        hitIndex = i;
        break;
      }
    }

    const cacheRead = hitIndex >= 0 ? cumulative[hitIndex]! : 0;
    let write5m = 0;
    let write1h = 0;
    let covered = cacheRead;
    const writes: Array<{ key: string; ttlMs: number }> = [];
    for (const index of breakpoints) {
      if (index <= hitIndex) continue;
      const ttl = pieces[index]!.ttl ?? '5m';
      const segment = cumulative[index]! - covered;
      if (ttl === '1h') write1h += segment;
      else write5m += segment;
      covered = cumulative[index]!;
      writes.push({ key: keys[index]!, ttlMs: TTL_MS[ttl] });
    }
    return {
      cacheRead,
      write5m,
      write1h,
      input: total - covered,
      total,
      refreshKey: hitIndex >= 0 ? keys[hitIndex] : undefined,
      writes,
    };
  }

  /**
   * Applies a plan: refreshes the hit's TTL and stores the written prefixes.
   *
   * @param plan - A plan from {@link PromptCache.plan}.
   * @param now - Current server clock, ms.
   */
  commit(plan: CachePlan, now: number): void {
    if (plan.refreshKey !== undefined) {
      const entry = this.entries.get(plan.refreshKey);
      if (entry !== undefined) entry.expiresAt = now + entry.ttlMs;
    }
    for (const write of plan.writes) {
      this.entries.set(write.key, { expiresAt: now + write.ttlMs, ttlMs: write.ttlMs });
    }
    if (plan.writes.length > 0 && ++this.commitsSinceSweep >= 1024) {
      this.commitsSinceSweep = 0;
      for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
  }
}
