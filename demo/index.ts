/**
 * `npm run demo`: one compressed day of production traffic, lived twice, side by side — through the raw
 * SDK and through ResilientClaude — against two copies of the project's fake Anthropic server (same
 * faults, same workload, same seed). Then the same 200 calls direct vs through Message Batches
 * (`demo/batches.ts`, a few seconds). Offline; about a minute. `--live` (with ANTHROPIC_API_KEY) runs a
 * tiny real workload instead.
 */
import Anthropic from '@anthropic-ai/sdk';
import { MultiBar, Presets } from 'cli-progress';
import { ResilientClaude } from '../src/client';
import { callCost, PriceTable } from '../src/cost';
import { FakeAnthropicServer } from '../src/testing';
import { DAY_RATE_LIMITS, DAY_SECONDS, inOutage, PHASES, scheduleDay } from './day';
import { runBatchesSection } from './batches';
import { runLive } from './live';
import { printReport, type RunSummary } from './report';
import { buildWorkload, runCall, type CallResult, type DemoCall } from './workload';

const CALLS = Number(process.env.DEMO_CALLS ?? 300);
const BUDGET_USD = 0.6;
const PER_USER_USD = 0.25;

interface Run {
  readonly name: string;
  readonly server: FakeAnthropicServer;
  readonly client: Anthropic;
  readonly results: CallResult[];
  readonly extra: { retries: number; breakerTrips: number; waited: number; waitMs: number };
}

async function startRun(name: string, makeClient: (baseURL: string) => Anthropic, start: number): Promise<Run> {
  const server = await FakeAnthropicServer.start({ rateLimits: DAY_RATE_LIMITS, seed: 42, recordBodies: false });
  scheduleDay(server, () => (performance.now() - start) / 1000);
  return { name, server, client: makeClient(server.url), results: [], extra: { retries: 0, breakerTrips: 0, waited: 0, waitMs: 0 } };
}

/** Fires the workload on schedule (open loop: calls do not wait for each other, like real traffic). */
async function drive(run: Run, workload: readonly DemoCall[], start: number, onDone: (r: CallResult) => void): Promise<void> {
  await Promise.all(
    workload.map(async (call) => {
      const wait = start + call.at * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const result = await runCall(run.client, call);
      run.results.push(result);
      onDone(result);
    }),
  );
}

function summarize(run: Run, startEpoch: number, prices: PriceTable, costs?: RunSummary['costs']): RunSummary {
  const stats = run.server.stats();
  const sent = run.server.ledger.filter((r) => r.path.startsWith('/v1/messages'));
  const byUser: Record<string, number> = {};
  const byModel: Record<string, number> = {};
  for (const r of run.results) {
    if (!r.ok || !r.message) continue;
    const usd = callCost(prices, { model: r.message.model, usage: r.message.usage, at: Date.now() }).usd;
    byUser[r.call.user] = (byUser[r.call.user] ?? 0) + usd;
    byModel[r.message.model] = (byModel[r.message.model] ?? 0) + usd;
  }
  return {
    name: run.name,
    results: run.results,
    requestsSent: sent.length,
    server429s: sent.filter((r) => r.status === 429).length,
    sentDuringOutage: sent.filter((r) => inOutage((r.at - startEpoch) / 1000)).length,
    served: stats.servedResponses,
    retries: run.extra.retries,
    breakerTrips: run.extra.breakerTrips,
    waited: run.extra.waited,
    waitMs: run.extra.waitMs,
    costs: costs ?? { byUser, byModel, budget: undefined },
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--live')) {
    await runLive();
    return;
  }
  const workload = buildWorkload(CALLS, DAY_SECONDS);
  console.log(`resilient-claude demo — one day of traffic compressed into ${DAY_SECONDS} s, lived twice.`);
  console.log(
    `${CALLS} calls from ${new Set(workload.map((c) => c.user)).size} users on 3 models, ${workload.filter((c) => c.mode !== 'json').length} of them streaming; a morning rush in the first 10 s.`,
  );
  console.log(
    `All day: per-model rate limits of ${DAY_RATE_LIMITS.rpm} requests, ${DAY_RATE_LIMITS.itpm} input and ${DAY_RATE_LIMITS.otpm} output tokens per ${DAY_RATE_LIMITS.windowMs / 1000} s.`,
  );
  for (const p of PHASES) console.log(`  ${String(p.from).padStart(2)}–${String(p.to).padEnd(2)} s  ${p.description}`);
  console.log(`ResilientClaude also keeps a budget: $${BUDGET_USD} for the day, $${PER_USER_USD} per user.\n`);

  const start = performance.now();
  const startEpoch = Date.now();
  const raw = await startRun('raw SDK', (baseURL) => new Anthropic({ apiKey: 'demo-key', baseURL }), start);
  const resilient = await startRun(
    'ResilientClaude',
    (baseURL) =>
      new ResilientClaude({
        apiKey: 'demo-key',
        baseURL,
        logger: false,
        // The breaker runs on its defaults: a user who changes nothing gets what the demo shows.
        cost: { budget: { limitUsd: BUDGET_USD, perUser: PER_USER_USD, window: 'day' } },
      }),
    start,
  );
  const rc = resilient.client as ResilientClaude;
  rc.on('retry', () => resilient.extra.retries++);
  rc.on('breakerStateChange', (e) => {
    if (e.to === 'open') resilient.extra.breakerTrips++;
  });
  rc.on('callComplete', (r) => {
    if (r.rateLimitWaitMs > 0) {
      resilient.extra.waited++;
      resilient.extra.waitMs += r.rateLimitWaitMs;
    }
  });

  // Live bars on a terminal; a line every few seconds when the output is a file or a pipe (e.g. in CI).
  const tty = process.stdout.isTTY === true;
  const bars = new MultiBar(
    { format: ' {name} |{bar}| {value}/{total} calls  ok {ok}  failed {failed}  {clock}', hideCursor: true, clearOnComplete: false, noTTYOutput: false },
    Presets.shades_classic,
  );
  const clock = () => `t=${((performance.now() - start) / 1000).toFixed(0).padStart(2)} s`;
  const counters = new Map<string, { ok: number; failed: number }>();
  const barOf = (run: Run) => {
    const c = { ok: 0, failed: 0 };
    counters.set(run.name, c);
    const bar = tty ? bars.create(CALLS, 0, { name: run.name.padEnd(15), ok: 0, failed: 0, clock: clock() }) : undefined;
    return (r: CallResult) => {
      if (r.ok && !r.silentlyTruncated) c.ok++;
      else c.failed++;
      bar?.increment({ ok: c.ok, failed: c.failed, clock: clock() });
    };
  };
  const line = () =>
    console.log(`  ${clock()}  ${[...counters].map(([name, c]) => `${name}: ${c.ok} ok, ${c.failed} failed`).join('   ')}`);
  const tick = setInterval(() => (tty ? bars.update() : line()), tty ? 500 : 5_000);
  await Promise.all([drive(raw, workload, start, barOf(raw)), drive(resilient, workload, start, barOf(resilient))]);
  clearInterval(tick);
  if (tty) bars.stop();
  else line();

  const prices = new PriceTable();
  const summary = rc.costs!.summary();
  const resilientCosts: RunSummary['costs'] = {
    byUser: Object.fromEntries(Object.entries(summary.byUser).map(([u, t]) => [u, t.usd])),
    byModel: Object.fromEntries(Object.entries(summary.byModel).map(([m, t]) => [m, t.usd])),
    budget: rc.costs!.budget(),
  };
  printReport(
    [summarize(raw, startEpoch, prices), summarize(resilient, startEpoch, prices, resilientCosts)],
    (performance.now() - start) / 1000,
  );
  await rc.close();
  await Promise.all([raw.server.close(), resilient.server.close()]);

  await runBatchesSection();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
