/**
 * Key-selection algorithms, as pure functions over the pool's candidate slots (no key text here).
 */

/** What a strategy sees of one usable key. `rr` is the smooth-weighted-round-robin counter it may update. */
export interface KeySlot {
  readonly alias: string;
  readonly weight: number;
  readonly inFlight: number;
  /** Smooth weighted round-robin state ("current weight"); owned by the pool, updated by the pick. */
  rr: number;
}

/**
 * Smooth weighted round robin (as in nginx): every candidate gains its weight, the largest wins and
 * loses the candidates' total. Equal weights give an exact rotation in candidate order; weights give
 * exact shares over each cycle of `sum(weights)` picks, interleaved. Ties go to the earlier candidate.
 *
 * @param candidates - at least one slot.
 */
export function pickRoundRobin<S extends KeySlot>(candidates: readonly S[]): S {
  let total = 0;
  let best: S | undefined;
  for (const slot of candidates) {
    slot.rr += slot.weight;
    total += slot.weight;
    if (best === undefined || slot.rr > best.rr) best = slot;
  }
  if (best === undefined) throw new RangeError('pickRoundRobin needs at least one candidate');
  best.rr -= total;
  return best;
}

/**
 * Weighted random pick.
 *
 * @param candidates - at least one slot.
 * @param random - a source in [0, 1).
 */
export function pickRandom<S extends KeySlot>(candidates: readonly S[], random: () => number): S {
  let total = 0;
  for (const slot of candidates) total += slot.weight;
  const draw = Math.min(Math.max(random(), 0), 1) * total;
  let acc = 0;
  for (const slot of candidates) {
    acc += slot.weight;
    if (draw < acc) return slot;
  }
  const last = candidates[candidates.length - 1];
  if (last === undefined) throw new RangeError('pickRandom needs at least one candidate');
  return last;
}

/** Capacity as a number in [0, 1]; unknown counts as full (no headers seen yet means no pressure known). */
function capacityOf(capacity: ((alias: string) => number | undefined) | undefined, alias: string): number {
  const value = capacity?.(alias);
  if (value === undefined || !Number.isFinite(value)) return 1;
  return Math.min(Math.max(value, 0), 1);
}

/**
 * Least loaded: keys with no rate-limit capacity left come last; then the lowest in-flight count per
 * unit of weight; then the most remaining capacity; remaining ties by {@link pickRoundRobin}, so that
 * idle keys share sequential traffic by weight instead of one key taking it all.
 *
 * @param candidates - at least one slot.
 * @param capacity - remaining capacity per alias in [0, 1], or undefined when unknown.
 */
export function pickLeastLoaded<S extends KeySlot>(
  candidates: readonly S[],
  capacity?: (alias: string) => number | undefined,
): S {
  type Scored = { slot: S; exhausted: number; load: number; room: number };
  const scored: Scored[] = candidates.map((slot) => {
    const room = capacityOf(capacity, slot.alias);
    return { slot, exhausted: room <= 0 ? 1 : 0, load: slot.inFlight / slot.weight, room };
  });
  const first = scored[0];
  if (first === undefined) throw new RangeError('pickLeastLoaded needs at least one candidate');
  let best = first;
  for (const s of scored) {
    if (s.exhausted !== best.exhausted ? s.exhausted < best.exhausted : s.load !== best.load ? s.load < best.load : s.room > best.room) {
      best = s;
    }
  }
  const tied = scored.filter((s) => s.exhausted === best.exhausted && s.load === best.load && s.room === best.room).map((s) => s.slot);
  return pickRoundRobin(tied);
}

/**
 * A small deterministic random source (mulberry32) in [0, 1), for reproducible `random` key picks
 * in tests and simulations: `new KeyPool({ …, keyStrategy: 'random', random: seededRandom(42) })`.
 *
 * @param seed - any 32-bit integer.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
