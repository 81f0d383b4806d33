import { ConfigError } from '../errors/config-error';
import { NoUsableKeyError, type UnusableKey } from '../errors/no-usable-key-error';
import { pickLeastLoaded, pickRandom, pickRoundRobin } from './strategies';
import {
  DEFAULT_QUARANTINE_MS,
  type ApiKeyInput,
  type KeyCapacitySource,
  type KeyPoolOptions,
  type KeySnapshot,
  type KeyStrategy,
} from './types';

const STRATEGIES: readonly KeyStrategy[] = ['round_robin', 'random', 'least_loaded'];

/**
 * A key picked for one request: its alias and weight, and the key itself behind a getter. The key is
 * not an own enumerable property, so spreading, `JSON.stringify` or `util.inspect` on a `PooledKey`
 * shows the alias and weight only.
 */
export class PooledKey {
  readonly alias: string;
  readonly weight: number;
  readonly #key: string;

  /** @internal Made by the {@link KeyPool} only. */
  constructor(alias: string, weight: number, key: string) {
    this.alias = alias;
    this.weight = weight;
    this.#key = key;
  }

  /** The API key, for the request's `Authorization` header only. */
  get key(): string {
    return this.#key;
  }

  /** Serializes without the key. */
  toJSON(): { alias: string; weight: number } {
    return { alias: this.alias, weight: this.weight };
  }
}

interface Slot {
  readonly alias: string;
  readonly weight: number;
  readonly handle: PooledKey;
  inFlight: number;
  requests: number;
  rr: number;
  /** Epoch ms the quarantine ends (`Infinity`: until restored); undefined when usable. */
  quarantinedUntil: number | undefined;
  reason: string | undefined;
  status: number | undefined;
}

/** What {@link KeyPool.pick} may be told. */
export interface PickOptions {
  /**
   * An alias to stay away from when any other key is usable (e.g. the key that just got a 429 or 529).
   * If it is the only usable key, it is picked anyway.
   */
  readonly avoid?: string;
}

/** How {@link KeyPool.quarantine} is told about a failure. */
export interface QuarantineOptions {
  /** The HTTP status that caused it. */
  readonly status?: number;
  /** Overrides the pool's `quarantineMs` for this quarantine (`Infinity`: until restored). */
  readonly durationMs?: number;
}

function isPositiveDuration(value: unknown): value is number {
  return typeof value === 'number' && !Number.isNaN(value) && value > 0;
}

interface NormalizedKey {
  readonly key: string;
  readonly alias: string;
  readonly weight: number;
}

/**
 * Checks the key-pool options and resolves aliases and weights. Throws `ConfigError` naming the option
 * at fault; messages never contain a key.
 */
export function validateKeyPoolOptions(options: KeyPoolOptions): readonly NormalizedKey[] {
  const list: unknown = options.apiKeys;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('apiKeys', 'a non-empty array of API keys');
  const entries: { key: string; alias: string | undefined; weight: number }[] = list.map((raw: unknown, i) => {
    const input = raw as ApiKeyInput;
    const entry = typeof input === 'string' ? { key: input } : input;
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`apiKeys[${i}]`, 'a key string or { key, alias?, weight? }');
    if (typeof entry.key !== 'string' || entry.key.trim() === '') throw new ConfigError(`apiKeys[${i}].key`, 'a non-empty string');
    if (entry.alias !== undefined && (typeof entry.alias !== 'string' || entry.alias.trim() === '')) {
      throw new ConfigError(`apiKeys[${i}].alias`, 'a non-empty string');
    }
    const weight = entry.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new ConfigError(`apiKeys[${i}].weight`, 'a positive finite number');
    }
    return { key: entry.key, alias: entry.alias, weight };
  });
  const keys = new Set<string>();
  entries.forEach((e, i) => {
    if (keys.has(e.key)) throw new ConfigError(`apiKeys[${i}].key`, 'a key not already in the pool', 'duplicate key');
    keys.add(e.key);
  });
  const aliases = new Set<string>();
  const resolved = entries.map((e, i) => {
    // Default aliases are positional, never derived from a key; a given alias must not carry one.
    const alias = e.alias ?? `key-${i + 1}`;
    for (const key of keys) {
      if (e.alias !== undefined && alias.includes(key)) {
        throw new ConfigError(`apiKeys[${i}].alias`, 'a name that does not contain an API key');
      }
    }
    if (aliases.has(alias)) throw new ConfigError(`apiKeys[${i}].alias`, 'a unique alias', `"${alias}" is used twice`);
    aliases.add(alias);
    return { key: e.key, alias, weight: e.weight };
  });
  if (options.keyStrategy !== undefined && !STRATEGIES.includes(options.keyStrategy)) {
    throw new ConfigError('keyStrategy', `one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}`);
  }
  if (options.sharedLimits !== undefined && typeof options.sharedLimits !== 'boolean') {
    throw new ConfigError('sharedLimits', 'a boolean');
  }
  if (options.quarantineMs !== undefined && !isPositiveDuration(options.quarantineMs)) {
    throw new ConfigError('quarantineMs', 'a positive number of milliseconds (Infinity: until restored)');
  }
  return resolved;
}

/**
 * The pool of API keys behind the `apiKeys` option: picks a key per request by strategy, tracks
 * in-flight requests per key, and keeps keys that failed authentication (401/403) out of rotation.
 *
 * Rotation (`round_robin`, and the tie-break of `least_loaded`) starts over from the first usable key
 * whenever the set of usable keys changes (a quarantine, its end, a restore).
 *
 * Keys are referred to by alias everywhere; {@link snapshot}, errors and events never contain one.
 * Quarantine ends after `quarantineMs` (default 10 minutes, then the next pick re-checks the key with a
 * real request) or with {@link restore}.
 */
export class KeyPool {
  /** The pick strategy in use. */
  readonly strategy: KeyStrategy;
  /** Whether the keys share rate limits (one set of buckets for all keys). */
  readonly sharedLimits: boolean;
  /** Default quarantine length, ms (`Infinity`: until restored). */
  readonly quarantineMs: number;
  readonly #slots: readonly Slot[];
  readonly #byAlias: ReadonlyMap<string, Slot>;
  readonly #secrets: readonly string[];
  readonly #random: () => number;
  readonly #now: () => number;
  #capacity: KeyCapacitySource | undefined;

  /** @throws ConfigError when an option is wrong (the message names it, never a key). */
  constructor(options: KeyPoolOptions) {
    const keys = validateKeyPoolOptions(options);
    this.strategy = options.keyStrategy ?? 'round_robin';
    this.sharedLimits = options.sharedLimits ?? true;
    this.quarantineMs = options.quarantineMs ?? DEFAULT_QUARANTINE_MS;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#capacity = options.capacity;
    this.#secrets = keys.map((k) => k.key);
    this.#slots = keys.map((k) => ({
      alias: k.alias,
      weight: k.weight,
      handle: new PooledKey(k.alias, k.weight, k.key),
      inFlight: 0,
      requests: 0,
      rr: 0,
      quarantinedUntil: undefined,
      reason: undefined,
      status: undefined,
    }));
    this.#byAlias = new Map(this.#slots.map((s) => [s.alias, s]));
  }

  /** Number of keys in the pool. */
  get size(): number {
    return this.#slots.length;
  }

  /** The aliases, in configuration order. */
  get aliases(): readonly string[] {
    return this.#slots.map((s) => s.alias);
  }

  /** Whether `alias` names a key of this pool. */
  has(alias: string): boolean {
    return this.#byAlias.has(alias);
  }

  /** Sets (or clears) the remaining-capacity source used by `least_loaded` (e.g. from the rate limiter). */
  setCapacitySource(capacity: KeyCapacitySource | undefined): void {
    this.#capacity = capacity;
  }

  /**
   * The rate-limit scope suffix for requests sent with `alias`: the alias when keys have their own
   * limits (`sharedLimits: false`), `undefined` when they share the organization's limits.
   */
  rateLimitScope(alias: string | undefined): string | undefined {
    return this.sharedLimits ? undefined : alias;
  }

  /**
   * Picks the key for one request by the pool's strategy, among keys not quarantined.
   *
   * @throws NoUsableKeyError when every key is quarantined.
   */
  pick(options: PickOptions = {}): PooledKey {
    const usable = this.#usable();
    if (usable.length === 0) throw this.#noUsableKey();
    const avoid = options.avoid;
    const preferred = avoid === undefined || usable.length === 1 ? usable : usable.filter((s) => s.alias !== avoid);
    const candidates = preferred.length > 0 ? preferred : usable;
    let slot: Slot;
    switch (this.strategy) {
      case 'random':
        slot = pickRandom(candidates, this.#random);
        break;
      case 'least_loaded':
        slot = pickLeastLoaded(candidates, this.#capacity);
        break;
      default:
        slot = pickRoundRobin(candidates);
    }
    return slot.handle;
  }

  /** How many keys are in rotation now. */
  usableCount(): number {
    return this.#usable().length;
  }

  /** @throws NoUsableKeyError when every key is quarantined. */
  assertUsable(): void {
    if (this.#usable().length === 0) throw this.#noUsableKey();
  }

  /** Counts a request as in flight on `alias` (and as sent with it). Pair with one {@link release}. */
  acquire(alias: string): void {
    const slot = this.#byAlias.get(alias);
    if (!slot) throw new RangeError(`unknown key alias "${this.#scrub(alias)}"`);
    slot.inFlight++;
    slot.requests++;
  }

  /** Ends one in-flight request on `alias`. Unknown aliases are ignored. */
  release(alias: string): void {
    const slot = this.#byAlias.get(alias);
    if (slot && slot.inFlight > 0) slot.inFlight--;
  }

  /**
   * Takes `alias` out of rotation for `options.durationMs` (default: the pool's `quarantineMs`).
   *
   * @param reason - short words, e.g. `'authentication_error'`; any key text in it is redacted.
   * @returns `true` when the key was usable until now (a new quarantine), `false` when it was already
   *   quarantined (the existing quarantine is kept) or the alias is unknown.
   */
  quarantine(alias: string, reason: string, options: QuarantineOptions = {}): boolean {
    const slot = this.#byAlias.get(alias);
    if (!slot) return false;
    const now = this.#now();
    if (this.#isQuarantined(slot, now)) return false;
    const duration = options.durationMs !== undefined && isPositiveDuration(options.durationMs) ? options.durationMs : this.quarantineMs;
    slot.quarantinedUntil = now + duration;
    slot.reason = this.#scrub(reason);
    slot.status = options.status;
    this.#restartRotation();
    return true;
  }

  /** When the quarantine of `alias` ends: epoch ms, `null` for "until restored", `undefined` when usable. */
  quarantinedUntil(alias: string): number | null | undefined {
    const slot = this.#byAlias.get(alias);
    if (!slot || !this.#isQuarantined(slot, this.#now())) return undefined;
    return Number.isFinite(slot.quarantinedUntil) ? (slot.quarantinedUntil as number) : null;
  }

  /** Whether `alias` is out of rotation now. */
  isQuarantined(alias: string): boolean {
    const slot = this.#byAlias.get(alias);
    return slot !== undefined && this.#isQuarantined(slot, this.#now());
  }

  /**
   * Puts a quarantined key back into rotation at once (e.g. after it was fixed).
   *
   * @returns `true` when the alias is known (quarantined or not), `false` otherwise.
   */
  restore(alias: string): boolean {
    const slot = this.#byAlias.get(alias);
    if (!slot) return false;
    this.#clear(slot);
    return true;
  }

  /** The state of every key, in configuration order. Never contains a key. */
  snapshot(): KeySnapshot[] {
    const now = this.#now();
    return this.#slots.map((s) => {
      const out = this.#isQuarantined(s, now);
      const base = {
        alias: s.alias,
        weight: s.weight,
        inFlight: s.inFlight,
        requests: s.requests,
        quarantined: out,
        quarantinedUntil: out && Number.isFinite(s.quarantinedUntil) ? (s.quarantinedUntil as number) : null,
      };
      if (!out) return base;
      return {
        ...base,
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
        ...(s.status !== undefined ? { status: s.status } : {}),
      };
    });
  }

  #isQuarantined(slot: Slot, now: number): boolean {
    if (slot.quarantinedUntil === undefined) return false;
    if (slot.quarantinedUntil > now) return true;
    this.#clear(slot); // elapsed: the next pick re-checks the key with a real request
    return false;
  }

  #clear(slot: Slot): void {
    if (slot.quarantinedUntil === undefined) return;
    slot.quarantinedUntil = undefined;
    slot.reason = undefined;
    slot.status = undefined;
    this.#restartRotation();
  }

  /** The usable set changed: the weighted rotation starts over, from the first usable key. */
  #restartRotation(): void {
    for (const slot of this.#slots) slot.rr = 0;
  }

  #usable(): Slot[] {
    const now = this.#now();
    return this.#slots.filter((s) => !this.#isQuarantined(s, now));
  }

  #noUsableKey(): NoUsableKeyError {
    const now = this.#now();
    let earliest = Infinity;
    const keys: UnusableKey[] = this.#slots.map((s) => {
      const until = s.quarantinedUntil ?? now;
      if (until < earliest) earliest = until;
      return {
        alias: s.alias,
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
        ...(s.status !== undefined ? { status: s.status } : {}),
        quarantinedUntil: Number.isFinite(until) ? until : null,
      };
    });
    return new NoUsableKeyError(keys, Number.isFinite(earliest) ? Math.max(0, earliest - now) : undefined);
  }

  /** `text` with any pooled key replaced, for anything that may end up in a log, event or error. */
  #scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }
}
