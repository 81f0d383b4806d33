/**
 * Property-based tests of the engine on a fake clock (vitest fake timers drive both `Date.now` and
 * the limiter's single timer per scope).
 *
 * For any sequence of acquires, settles (served with random actuals / rejected / failed), observes,
 * pauses, aborts and clock steps:
 * 1. per dimension, the amount ADMITTED in any window [t, t+w] never exceeds capacity + rate × w,
 *    where "admitted" is what admissions in the window reserved minus what settles gave back within
 *    the window (a rejected call returns everything, a failed one its output, a served one
 *    reserved − actual; usage beyond the reservation is debt that only slows later calls).
 *    Returns must be netted in the window: a call rejected at once can be re-admitted at once, and
 *    that is correct. (Netting each admission's return against the admission itself instead does
 *    NOT hold for any reserve-then-refund bucket, Anthropic's own OTPM accounting included: a refund
 *    arriving after the bucket filled up re-credits tokens a full bucket had stopped accruing. The
 *    header sync, which caps the level at the server's `remaining`, is what bounds that drift.)
 *    Observed headers are generated consistent with a server refilling at the true rate;
 *    `remaining` is arbitrary.
 * 2. no waiter is admitted while a waiter it must yield to (higher priority, or equal priority and
 *    earlier) is still waiting.
 * 3. every waiter settles (admitted, rejected or aborted) once time advances enough, and none
 *    waits beyond its `maxWaitMs` (admitted later, or given up later).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimitWaitExceededError } from '../errors/rate-limit-wait-exceeded-error';
import { RateLimiter } from './rate-limiter';
import { type Permit } from './types';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const CAP = [10, 5000, 4000] as const; // requests, input, output

type Op =
  | { op: 'acquire'; input: number; output: number; priority: number; maxWaitMs: number | null; abortable: boolean }
  | { op: 'settle'; pick: number; kind: 'served' | 'rejected' | 'failed'; actualIn: number; actualOut: number }
  | { op: 'observe'; fractions: [number, number, number]; pick: number | null; date: boolean; status: 200 | 429; retryAfterS: number }
  | { op: 'pause'; ms: number }
  | { op: 'abort'; pick: number }
  | { op: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('acquire' as const),
      input: fc.integer({ min: 0, max: 5500 }),
      output: fc.integer({ min: 0, max: 4400 }),
      priority: fc.integer({ min: 0, max: 2 }),
      maxWaitMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: null }),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      pick: fc.nat(),
      kind: fc.constantFrom('served' as const, 'rejected' as const, 'failed' as const),
      actualIn: fc.integer({ min: 0, max: 8000 }),
      actualOut: fc.integer({ min: 0, max: 6000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('observe' as const),
      fractions: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
      pick: fc.option(fc.nat(), { nil: null }),
      date: fc.boolean(),
      status: fc.constantFrom(200 as const, 429 as const),
      retryAfterS: fc.integer({ min: 0, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30_000 }) }) },
);

interface Admission {
  at: number;
  permit: Permit;
  settled: boolean;
}

/** An admission (+reserved) or a settle's return (−given back), in the order they happened. */
interface Flow {
  at: number;
  admission: boolean;
  amounts: [number, number, number];
}

interface Tracked {
  priority: number;
  seq: number;
  state: 'waiting' | 'admitted' | 'rejected';
  controller: AbortController | undefined;
}

/** Headers of a server with capacity CAP and refill `rates[i]` per ms, reporting `remaining`. */
function serverHeaders(now: number, rates: readonly number[], fractions: readonly number[], date: boolean, status: number, retryAfterS: number): Headers {
  const h = new Headers();
  const names = ['requests', 'input-tokens', 'output-tokens'];
  for (let i = 0; i < 3; i++) {
    const cap = CAP[i] as number;
    const remaining = Math.floor((fractions[i] as number) * cap);
    const resetIn = Math.ceil((cap - remaining) / (rates[i] as number));
    h.set(`anthropic-ratelimit-${names[i]}-limit`, String(cap));
    h.set(`anthropic-ratelimit-${names[i]}-remaining`, String(remaining));
    h.set(`anthropic-ratelimit-${names[i]}-reset`, new Date(now + resetIn).toISOString());
  }
  if (date) h.set('date', new Date(now).toUTCString());
  if (status === 429 && retryAfterS > 0) h.set('retry-after', String(retryAfterS));
  return h;
}

async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

async function runScenario(mode: 'explicit' | 'auto', windowMs: number, ops: Op[]): Promise<void> {
  vi.useFakeTimers({ now: T0 });
  const rates = CAP.map((c) => c / windowMs);
  const limiter =
    mode === 'explicit'
      ? new RateLimiter({ mode, limits: { rpm: CAP[0], itpm: CAP[1], otpm: CAP[2] }, now: () => Date.now() })
      : new RateLimiter({ mode, now: () => Date.now() });
  if (mode === 'auto') {
    // Learn everything before the first call (before that, 'auto' does no token accounting).
    limiter.observe('s', serverHeaders(Date.now(), rates, [1, 1, 1], false, 200, 0), 200);
  }
  const admissions: Admission[] = [];
  const live: Admission[] = [];
  const flows: Flow[] = [];
  const tracked: Tracked[] = [];
  const order: string[] = [];
  const late: string[] = [];
  let seq = 0;

  const onAdmit = (permit: Permit, t: Tracked | null, enqueuedAt: number): void => {
    if (t !== null) {
      // Property 2: nobody it must yield to is still waiting.
      for (const other of tracked) {
        if (other === t || other.state !== 'waiting') continue;
        const mustYield = other.priority > t.priority || (other.priority === t.priority && other.seq < t.seq);
        if (mustYield) order.push(`admitted ${t.seq}(p${t.priority}) while ${other.seq}(p${other.priority}) waited`);
      }
      t.state = 'admitted';
    }
    const d = permit.demand;
    const a: Admission = { at: enqueuedAt + permit.waitedMs, permit, settled: false };
    admissions.push(a);
    live.push(a);
    flows.push({ at: a.at, admission: true, amounts: [d.requests, d.inputTokens, d.outputTokens] });
  };
  const giveBack = (amounts: [number, number, number]): void => {
    flows.push({ at: Date.now(), admission: false, amounts: amounts.map((x) => Math.max(0, x)) as [number, number, number] });
  };

  try {
    for (const op of ops) {
      const now = Date.now();
      switch (op.op) {
        case 'acquire': {
          const controller = op.abortable ? new AbortController() : undefined;
          const priority = op.priority;
          const t: Tracked = { priority, seq: seq++, state: 'waiting', controller };
          let result: Permit | Promise<Permit>;
          try {
            result = limiter.acquire('s', { requests: 1, inputTokens: op.input, outputTokens: op.output }, {
              priority,
              signal: controller?.signal,
              maxWaitMs: op.maxWaitMs ?? undefined,
            });
          } catch {
            break; // refused at once (capacity, wait bound)
          }
          if (!(result instanceof Promise)) {
            onAdmit(result, t, now); // the fast path must not overtake anyone it must yield to either
            break;
          }
          tracked.push(t);
          const maxWaitMs = op.maxWaitMs;
          result.then(
            (permit) => {
              if (maxWaitMs !== null && permit.waitedMs > maxWaitMs) late.push(`admitted after ${permit.waitedMs} ms > maxWaitMs ${maxWaitMs}`);
              onAdmit(permit, t, now);
            },
            (error: unknown) => {
              t.state = 'rejected';
              if (error instanceof RateLimitWaitExceededError && (maxWaitMs === null || Date.now() - now > maxWaitMs)) {
                late.push(`gave up after ${Date.now() - now} ms, maxWaitMs ${String(maxWaitMs)}`);
              }
            },
          );
          break;
        }
        case 'settle': {
          if (live.length === 0) break;
          const a = live.splice(op.pick % live.length, 1)[0] as Admission;
          const d = a.permit.demand;
          // Record the return first: admissions it enables happen inside settle().
          if (op.kind === 'served') {
            giveBack([0, d.inputTokens - op.actualIn, d.outputTokens - op.actualOut]);
            a.permit.settle({ kind: 'served', actual: { inputTokens: op.actualIn, outputTokens: op.actualOut } });
          } else if (op.kind === 'rejected') {
            giveBack([d.requests, d.inputTokens, d.outputTokens]);
            a.permit.settle({ kind: 'rejected' });
          } else {
            giveBack([0, 0, d.outputTokens]);
            a.permit.settle({ kind: 'failed' });
          }
          a.settled = true;
          break;
        }
        case 'observe': {
          const permit = op.pick === null || admissions.length === 0 ? undefined : admissions[op.pick % admissions.length]?.permit;
          limiter.observe('s', serverHeaders(now, rates, op.fractions, op.date, op.status, op.retryAfterS), op.status, permit);
          if (permit === undefined) {
            // Unlinked response: level ≤ remaining − every in-flight reservation.
            const dims = limiter.snapshot().s!.dimensions;
            const levels = [dims.requests.available, dims.inputTokens.available, dims.outputTokens.available];
            for (let i = 0; i < 3; i++) {
              const remaining = Math.floor((op.fractions[i] as number) * (CAP[i] as number));
              const held = live.reduce((sum, a) => sum + [a.permit.demand.requests, a.permit.demand.inputTokens, a.permit.demand.outputTokens][i]!, 0);
              if ((levels[i] as number) > remaining - held + 1e-6) order.push(`level ${levels[i]} above remaining ${remaining} − in flight ${held}`);
            }
          }
          break;
        }
        case 'pause':
          limiter.pause('s', now + op.ms);
          break;
        case 'abort': {
          const waiting = tracked.filter((t) => t.state === 'waiting' && t.controller !== undefined);
          if (waiting.length > 0) waiting[op.pick % waiting.length]?.controller?.abort();
          break;
        }
        case 'advance':
          await vi.advanceTimersByTimeAsync(op.ms);
          break;
      }
      await flush();
    }

    // Property 3: settle everything outstanding and let time run: every waiter must settle.
    for (let round = 0; round < 40 && tracked.some((t) => t.state === 'waiting'); round++) {
      for (const a of live.splice(0)) {
        const d = a.permit.demand;
        a.permit.settle({ kind: 'served', actual: { inputTokens: d.inputTokens, outputTokens: d.outputTokens } });
        a.settled = true;
      }
      await vi.advanceTimersByTimeAsync(120_000);
    }
    expect(tracked.filter((t) => t.state === 'waiting')).toEqual([]);
    expect(order).toEqual([]);
    expect(late).toEqual([]);

    // Property 1: in every window from one admission to a later one (in the order things happened),
    // reserved − returned ≤ capacity + rate × window.
    expect(flows.every((f, i) => i === 0 || f.at >= (flows[i - 1] as Flow).at)).toBe(true);
    for (let dim = 0; dim < 3; dim++) {
      const cap = CAP[dim] as number;
      const rate = rates[dim] as number;
      for (let i = 0; i < flows.length; i++) {
        const first = flows[i] as Flow;
        if (!first.admission) continue;
        let sum = 0;
        for (let j = i; j < flows.length; j++) {
          const f = flows[j] as Flow;
          const amount = f.amounts[dim] as number;
          sum += f.admission ? amount : -amount;
          if (!f.admission) continue;
          const bound = cap + rate * (f.at - first.at);
          if (sum > bound * (1 + 1e-9) + 1e-6) {
            throw new Error(`dimension ${dim}: admitted ${sum} in [${first.at - T0}, ${f.at - T0}] ms > bound ${bound}`);
          }
        }
      }
    }
  } finally {
    await limiter.close();
    vi.useRealTimers();
  }
}

describe('rate limiter properties', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("explicit ceilings: admitted ≤ capacity + rate × window; priority order; every waiter settles", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => runScenario('explicit', 60_000, ops)),
      { numRuns: 300 },
    );
  });

  it("'auto', rates learned only from headers (server refilling in 20 s or 60 s): same properties", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(20_000, 60_000), fc.array(opArb, { minLength: 1, maxLength: 40 }), (windowMs, ops) =>
        runScenario('auto', windowMs, ops),
      ),
      { numRuns: 300 },
    );
  });
});
