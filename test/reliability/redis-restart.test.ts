/**
 * Redis restarted mid-run. Two clients — two "processes", each with its own Redis connection from a URL —
 * share explicit rate limits and one budget through a private redis-server (no persistence) that this
 * test starts, kills (SIGKILL) with calls in flight, and starts again empty on the same port.
 *
 * Phases: A, Redis up (about a third of the budget spent); B, Redis down (each process demands more than
 * the whole budget); C, Redis back, empty (traffic continues until both processes are on Redis again,
 * then demands the whole budget again).
 *
 * What "the budget is not overshot" can mean across a restart that loses every key:
 * 1. While Redis is up, the budget holds globally: Redis's figures never pass the limit before the kill.
 *    After the restart (every key lost) each process restores its own spend in Redis with its next
 *    script, so Redis's figure is the true global spend again — and refuses what no longer fits.
 * 2. While Redis is down, each process's local fallback holds the limit on its own (`source: 'local'`).
 * 3. **Per process, over the whole window** (the design's promise for Redis loss: "budgets then hold per
 *    process, not globally"): what one process spent in the budget window — its own ledger, which is
 *    exact — never exceeds the limit. A process knows what it spent; neither the outage nor the restart
 *    may let it spend the limit again.
 * 4. Globally: at most N × limit for N processes — during a partition each process may spend what was
 *    left, but no process may spend beyond the limit (3) and Redis must not count from zero again.
 *
 * Also: traffic continues in every phase (calls succeed, or are refused only by the budget), the failure
 * and the recovery are visible as `redisError` / `redisRecovered` events from both components of both
 * clients, and in `health()` (budget `source`, rate-limit scope `store`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResilientClaude } from '../../src/client';
import type { RedisStateEvent } from '../../src/events';
import type { HealthSnapshot } from '../../src/health';
import { FakeAnthropicServer } from '../../src/testing';
import { bump, formatCounts, printTable, PrivateRedis, runPool, trackUnhandledRejections } from './helpers';

const LIMIT_USD = 0.08;
const MODEL = 'claude-sonnet-4-6';
const RATE_LIMITS = { rpm: 3_000, itpm: 2_000_000, otpm: 400_000 };
const PER_CLIENT_IN_FLIGHT = 8;
const PHASE_A_CALLS = 30;
const PHASE_B_CALLS = 250;
const PHASE_C_CALLS = 250;
/** Longest wait for both clients to be back on Redis after the restart (the cost store retries after 5 s). */
const RECOVERY_BOUND_MS = 30_000;

const params: Anthropic.MessageCreateParamsNonStreaming = {
  model: MODEL,
  max_tokens: 64,
  messages: [{ role: 'user', content: 'How does a budget survive a Redis restart?' }],
  metadata: { user_id: 'redis-restart' },
};

interface PhaseFigures {
  ok: number;
  outcomes: Record<string, number>;
  serverRequests: number;
  server429: number;
  ms: number;
}

let redis: PrivateRedis;
let server: FakeAnthropicServer;
const clients: ResilientClaude[] = [];
const events: Array<{ client: number; name: 'redisError' | 'redisRecovered'; event: RedisStateEvent; at: number }> = [];

beforeAll(async () => {
  redis = await PrivateRedis.start();
  server = await FakeAnthropicServer.start({ rateLimits: RATE_LIMITS });
  for (let i = 0; i < 2; i++) {
    const client = new ResilientClaude({
      apiKey: 'redis-restart-key',
      baseURL: server.url,
      logger: false,
      redis: redis.url,
      rateLimit: { ...RATE_LIMITS },
      cost: { budget: { limitUsd: LIMIT_USD, window: 'day' } },
    });
    client.on('redisError', (event) => events.push({ client: i, name: 'redisError', event, at: Date.now() }));
    client.on('redisRecovered', (event) => events.push({ client: i, name: 'redisRecovered', event, at: Date.now() }));
    clients.push(client);
  }
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  await redis?.stop();
});

/** Runs `perClient` calls on each client (in parallel), returns the phase's figures. */
async function phase(perClient: number): Promise<PhaseFigures> {
  const before = server.stats();
  const outcomes: Record<string, number> = {};
  const t0 = performance.now();
  await Promise.all(
    clients.map((client) =>
      runPool(perClient, PER_CLIENT_IN_FLIGHT, async () => {
        try {
          await client.messages.create(params);
          bump(outcomes, 'ok');
        } catch (error) {
          bump(outcomes, error instanceof Error ? error.name : String(error));
        }
      }),
    ),
  );
  const after = server.stats();
  return {
    ok: outcomes.ok ?? 0,
    outcomes,
    serverRequests: after.requests - before.requests,
    server429: (after.byStatus['429'] ?? 0) - (before.byStatus['429'] ?? 0),
    ms: performance.now() - t0,
  };
}

/** Spend of one client in the current budget window, from its own (exact) ledger. */
function windowSpend(client: ResilientClaude): number {
  const state = client.costs!.budget();
  return client.costs!.summary(state ? { sinceMs: state.windowStart } : undefined).totalUsd;
}

function recovered(client: number, component: 'cost' | 'rateLimit'): boolean {
  const last = events.filter((e) => e.client === client && e.event.component === component).at(-1);
  return last?.name === 'redisRecovered';
}

function healthView(h: HealthSnapshot): string {
  const scopes = Object.entries(h.rateLimit).map(([scope, s]) => `${scope}: ${s.store}`);
  return `ready ${h.ready}, reasons [${h.reasons.join('; ')}], budget source ${h.budget?.source} (spent $${h.budget?.spentUsd.toFixed(4)}), rate limit ${scopes.join(', ')}`;
}

describe('Redis restarted mid-run: shared limits and budget', () => {
  it('traffic continues, the budget is not overshot, the failure shows in events and health', async () => {
    const unhandled = trackUnhandledRejections();
    const waitOutcomes: Record<string, number> = {};
    const run = async () => {
      // --- A: Redis up --------------------------------------------------------------------------------
      const phaseA = await phase(PHASE_A_CALLS);
      await delay(50); // settlements are written after the call returns
      const healthUp = clients.map((c) => c.health());
      const redisSpentBeforeKill = Math.max(...clients.map((c) => c.costs!.budget()?.spentUsd ?? 0));
      const spendA = clients.map(windowSpend);

      // --- B: Redis killed, calls continue ----------------------------------------------------------
      await redis.kill();
      const phaseB = await phase(PHASE_B_CALLS);
      const healthDown = clients.map((c) => c.health());
      const spendB = clients.map(windowSpend);

      // --- C: Redis back (empty); traffic until both clients are on Redis again, then more ----------
      await redis.up();
      const t0 = performance.now();
      const everyoneBack = () => [0, 1].every((i) => recovered(i, 'cost') && recovered(i, 'rateLimit'));
      while (!everyoneBack() && performance.now() - t0 < RECOVERY_BOUND_MS) {
        await Promise.all(
          clients.map((c) =>
            c.messages.create(params).then(
              () => bump(waitOutcomes, 'ok'),
              (error: unknown) => bump(waitOutcomes, error instanceof Error ? error.name : String(error)),
            ),
          ),
        );
        await delay(100);
      }
      const waitedForRecoveryMs = performance.now() - t0;
      const phaseC = await phase(PHASE_C_CALLS);
      await delay(50);
      const healthBack = clients.map((c) => c.health());
      const spend = { A: spendA, B: spendB, C: clients.map(windowSpend) };
      return { phaseA, phaseB, phaseC, healthUp, healthDown, healthBack, redisSpentBeforeKill, spend, waitedForRecoveryMs };
    };
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run();
    } finally {
      unhandled.dispose();
    }
    const { phaseA, phaseB, phaseC, healthUp, healthDown, healthBack, redisSpentBeforeKill, spend, waitedForRecoveryMs } = r;

    const perProcess = spend.C;
    const global = perProcess[0]! + perProcess[1]!;
    const kinds = (name: string, component: string) =>
      [0, 1].map((i) => events.filter((e) => e.client === i && e.name === name && e.event.component === component).length).join('/');
    printTable(`Redis restart — 2 clients, budget $${LIMIT_USD}/day shared, rpm ${RATE_LIMITS.rpm} shared, private redis-server :${redis.port}`, [
      ['A: Redis up', `${formatCounts(phaseA.outcomes)} · ${phaseA.serverRequests} requests, ${phaseA.server429} × 429 · ${phaseA.ms.toFixed(0)} ms`],
      ['B: Redis killed', `${formatCounts(phaseB.outcomes)} · ${phaseB.serverRequests} requests, ${phaseB.server429} × 429 · ${phaseB.ms.toFixed(0)} ms`],
      ['C: until recovered', `${formatCounts(waitOutcomes)} · ${waitedForRecoveryMs.toFixed(0)} ms (bound ${RECOVERY_BOUND_MS})`],
      ['C: Redis back (empty)', `${formatCounts(phaseC.outcomes)} · ${phaseC.serverRequests} requests, ${phaseC.server429} × 429 · ${phaseC.ms.toFixed(0)} ms`],
      ['redisError a/b', `cost ${kinds('redisError', 'cost')}, rateLimit ${kinds('redisError', 'rateLimit')}`],
      ['redisRecovered a/b', `cost ${kinds('redisRecovered', 'cost')}, rateLimit ${kinds('redisRecovered', 'rateLimit')}`],
      ['health, Redis up (a)', healthView(healthUp[0]!)],
      ['health, Redis down (a)', healthView(healthDown[0]!)],
      ['health, Redis back (a)', healthView(healthBack[0]!)],
      ['Redis-known spend before kill', `$${redisSpentBeforeKill.toFixed(4)}`],
      ['spend per process a/b', `after A $${spend.A.map((x) => x.toFixed(4)).join('/')} → after B $${spend.B.map((x) => x.toFixed(4)).join('/')} → end $${perProcess.map((x) => x.toFixed(4)).join('/')} (limit $${LIMIT_USD})`],
      ['spend, both processes', `$${global.toFixed(4)} (limit $${LIMIT_USD}; N × limit = $${(2 * LIMIT_USD).toFixed(2)})`],
      ['unhandled rejections', unhandled.count()],
    ]);

    // Traffic continues: every call succeeds or is refused by the budget, and calls succeed in every phase.
    const notBudget = (o: Record<string, number>) => Object.keys(o).filter((k) => k !== 'ok' && k !== 'BudgetExceededError');
    expect.soft([...notBudget(phaseA.outcomes), ...notBudget(phaseB.outcomes), ...notBudget(waitOutcomes), ...notBudget(phaseC.outcomes)], 'failures other than budget refusals').toEqual([]);
    expect.soft(phaseA.ok).toBe(2 * PHASE_A_CALLS);
    expect.soft(phaseB.ok, 'calls served while Redis was down').toBeGreaterThan(0);
    expect.soft(unhandled.count()).toBe(0);

    // The failure and the recovery are visible: events from both components of both clients…
    for (const i of [0, 1]) {
      for (const component of ['cost', 'rateLimit'] as const) {
        expect.soft(events.some((e) => e.client === i && e.name === 'redisError' && e.event.component === component), `client ${i} ${component} redisError`).toBe(true);
        expect.soft(recovered(i, component), `client ${i} ${component} back on Redis`).toBe(true);
      }
    }
    // … and health: Redis while up, the local fallback while down, Redis again after the restart.
    for (const [when, snapshots, source] of [
      ['up', healthUp, 'redis'],
      ['down', healthDown, 'local'],
      ['back', healthBack, 'redis'],
    ] as const) {
      for (const h of snapshots) {
        expect.soft(h.budget?.source, `health budget source while Redis is ${when}`).toBe(source);
        expect.soft(Object.values(h.rateLimit).map((s) => s.store), `health rate-limit store while Redis is ${when}`).toEqual([source]);
      }
    }

    // The budget. (1) While up, Redis's figures stay within the limit.
    expect.soft(redisSpentBeforeKill).toBeLessThanOrEqual(LIMIT_USD);
    // After the restart, Redis knows what both processes spent (each amount rounded up to a nano-dollar).
    const callsServed = phaseA.ok + phaseB.ok + (waitOutcomes.ok ?? 0) + phaseC.ok;
    for (const h of healthBack) {
      expect.soft(h.budget!.spentUsd, 'Redis spend after the restart vs both ledgers').toBeGreaterThanOrEqual(global - 1e-12);
      expect.soft(h.budget!.spentUsd).toBeLessThanOrEqual(global + callsServed * 1e-9 + 1e-12);
    }
    // Once the spend was over the limit, nothing more was served.
    if (spend.B[0]! + spend.B[1]! >= LIMIT_USD) expect.soft(phaseC.ok, 'calls served after Redis learned the limit was spent').toBe(0);
    // (2) While down, each process's local fallback holds the limit on its own.
    for (const h of healthDown) expect.soft(h.budget!.spentUsd).toBeLessThanOrEqual(LIMIT_USD + 1e-12);
    // (3) Per process, over the window: a process never spends more than the limit.
    expect.soft(perProcess.map((usd) => usd <= LIMIT_USD + 1e-12), `spend per process a/b: $${perProcess.join(' / ')}`).toEqual([true, true]);
    // (4) Globally, at most N × limit.
    expect.soft(global, 'spend of both processes').toBeLessThanOrEqual(2 * LIMIT_USD + 1e-12);
  }, 120_000);
});
