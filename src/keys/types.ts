/**
 * Types of the API-key pool (`apiKeys` option). Nothing here ever carries a key's text except
 * {@link ApiKeyEntry.key}, the input itself: snapshots, events and errors name keys by alias only.
 */

/** One pooled API key, as the user configures it. */
export interface ApiKeyEntry {
  /** The API key itself. Never logged, never put in an event, error, snapshot or metric label. */
  readonly key: string;
  /**
   * Name used everywhere the key must be referred to (logs, events, metrics, `client.keys`). Default:
   * `key-<n>`, its 1-based position in `apiKeys`. Never derived from the key text; an alias that
   * contains any pooled key is refused.
   */
  readonly alias?: string;
  /** Relative share of traffic (positive, finite). Default 1. */
  readonly weight?: number;
}

/** A pooled key as accepted by the `apiKeys` option: an entry, or the key alone (alias and weight default). */
export type ApiKeyInput = string | ApiKeyEntry;

/**
 * How the pool picks the key for an attempt:
 * - `round_robin` (default): smooth weighted round robin — with equal weights an exact rotation; with
 *   weights, each key's share matches its weight and picks are interleaved, not bunched.
 * - `random`: weighted random (the random source is injectable, see {@link KeyPoolOptions.random}).
 * - `least_loaded`: the key with the fewest in-flight requests per unit of weight; ties are broken by
 *   remaining rate-limit capacity (when a {@link KeyPoolOptions.capacity} source is given), then by
 *   weighted round robin.
 */
export type KeyStrategy = 'round_robin' | 'random' | 'least_loaded';

/** The client options of the key pool (the lead merges these into `ResilientClaudeOptions`). */
export interface ApiKeysOptions {
  /** The keys to spread calls over. When given, every API request uses one of them. */
  apiKeys?: readonly ApiKeyInput[];
  /** How to pick a key for each attempt. Default `'round_robin'`. */
  keyStrategy?: KeyStrategy;
  /**
   * Whether the keys share rate limits. Anthropic enforces limits per organization (and workspace),
   * not per key, so keys of one organization share them: the rate limiter then keeps one set of
   * buckets for all keys. Set `false` only for keys of different organizations. Default `true`.
   */
  sharedLimits?: boolean;
  /**
   * How long a key that got a 401/403 stays out of rotation, in ms. When it elapses, the key is
   * re-checked by the next call that picks it: a key that still fails is quarantined again at the cost
   * of one extra request (the call moves on to another key at once). `Infinity` keeps it out until
   * `client.keys.restore(alias)`. Default 600 000 (10 minutes).
   */
  quarantineMs?: number;
}

/**
 * A source of remaining rate-limit capacity per key alias, for `least_loaded`: a number in [0, 1] (the
 * fraction of the tightest bucket left), or `undefined` when unknown. Keys with 0 capacity come last.
 */
export type KeyCapacitySource = (alias: string) => number | undefined;

/** Options of a {@link KeyPool}. */
export interface KeyPoolOptions extends ApiKeysOptions {
  /** The keys (at least one). */
  apiKeys: readonly ApiKeyInput[];
  /** Random source in [0, 1) for the `random` strategy. Default `Math.random`; see `seededRandom()`. */
  random?: () => number;
  /** Clock in epoch ms, for quarantine expiry. Default `Date.now`. */
  now?: () => number;
  /** Remaining capacity per alias, for `least_loaded` (can be set later with `setCapacitySource`). */
  capacity?: KeyCapacitySource;
}

/** Default of {@link ApiKeysOptions.quarantineMs}: 10 minutes. */
export const DEFAULT_QUARANTINE_MS = 600_000;

/** State of one pooled key, from `KeyPool.snapshot()`. Never contains the key. */
export interface KeySnapshot {
  readonly alias: string;
  readonly weight: number;
  /** Requests using the key right now (a stream counts until its body ends). */
  readonly inFlight: number;
  /** Requests sent with the key since the pool was created. */
  readonly requests: number;
  /** Whether the key is out of rotation now. */
  readonly quarantined: boolean;
  /** Epoch ms when the quarantine ends; `null` when it lasts until `restore()` (or not quarantined). */
  readonly quarantinedUntil: number | null;
  /** Why the key was quarantined (e.g. `'authentication_error'`), while it is. */
  readonly reason?: string;
  /** HTTP status that caused the quarantine, while it lasts. */
  readonly status?: number;
}

/** Payload of the `keyQuarantined` event (the lead adds it to `ResilientClaudeEvents`). */
export interface KeyQuarantinedEvent {
  /** The key's alias — never the key. */
  readonly alias: string;
  /** The status that got it quarantined (401 or 403). */
  readonly status: number;
  /** Short reason, e.g. `'authentication_error'`. */
  readonly reason: string;
  /** Epoch ms when the key will be re-checked; `null` when only `restore()` brings it back. */
  readonly until: number | null;
  /** Epoch ms of the quarantine. */
  readonly at: number;
  /** The call that found out. */
  readonly callId?: string;
}
