/**
 * Seeded randomness, string hashing and Anthropic-style identifiers for the fake server.
 *
 * Everything here is deterministic: the same seed yields the same sequence of numbers and ids, so
 * a test run against {@link FakeAnthropicServer} can be replayed exactly.
 *
 * @module
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * 32-bit FNV-1a hash of a string's UTF-16 code units. Fast, stable across runs and platforms; not
 * cryptographic.
 *
 * @param text - The string to hash.
 * @param basis - Optional starting value, to derive independent hashes of the same text.
 * @returns An unsigned 32-bit integer.
 */
export function hash32(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Derives an independent 32-bit seed from a base seed and a label, so that separate concerns
 * (fault probabilities, latency, ids, output text) each get their own reproducible stream.
 *
 * @param seed - The base seed (the server's `seed` option).
 * @param label - A name for the derived stream.
 */
export function deriveSeed(seed: number, label: string): number {
  return hash32(`${seed >>> 0}:${label}`);
}

/**
 * A small, fast, seeded pseudo-random generator (a Weyl sequence passed through a 32-bit
 * avalanche mix). Good enough for test traffic; not for cryptography.
 */
export class SeededRandom {
  private state: number;

  /** @param seed - Any number; only its low 32 bits are used. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns the next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Returns a float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Returns an integer in [min, max] (both inclusive).
   *
   * @param min - Lower bound (inclusive).
   * @param max - Upper bound (inclusive); must be ≥ `min`.
   */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * Returns `length` characters drawn from `[0-9A-Za-z]`.
   *
   * @param length - Number of characters.
   */
  base62(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += BASE62.charAt(this.nextUint32() % 62);
    return out;
  }
}

/**
 * Generates the identifiers the fake server hands out, in the real API's formats
 * (`req_…`, `msg_…`, `toolu_…`, `msgbatch_…`), from one seeded stream.
 */
export class IdGenerator {
  private readonly rng: SeededRandom;

  /** @param seed - The server's seed; ids are reproducible for a given seed and traffic order. */
  constructor(seed: number) {
    this.rng = new SeededRandom(deriveSeed(seed, 'ids'));
  }

  /** A request id: `req_` followed by 24 base62 characters. */
  requestId(): string {
    return `req_${this.rng.base62(24)}`;
  }

  /** A message id: `msg_` followed by 24 base62 characters. */
  messageId(): string {
    return `msg_${this.rng.base62(24)}`;
  }

  /** A tool-use block id: `toolu_` followed by 24 base62 characters. */
  toolUseId(): string {
    return `toolu_${this.rng.base62(24)}`;
  }

  /** A message batch id: `msgbatch_` followed by 24 base62 characters. */
  batchId(): string {
    return `msgbatch_${this.rng.base62(24)}`;
  }
}

/** The fixed organization id every response carries in `anthropic-organization-id`. */
export const FAKE_ORGANIZATION_ID = '6c1f5d2e-8a4b-4f0e-9b7a-3d2c1e0f9a8b';
