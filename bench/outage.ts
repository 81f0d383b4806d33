/**
 * `npx tsx bench/outage.ts [--json] [--short]` (or `npm run bench:outage`): a total 529 outage on a
 * server the library was not tuned on (test/support/scripted-server.ts), for the raw SDK and for
 * ResilientClaude with defaults, in one process, each against its own server instance.
 *
 * Schedule: 20 calls/s for 30 s (non-streaming `messages.create`, fired on schedule without waiting for
 * earlier calls); every request arriving between 10 s and 20 s gets 529 overloaded_error at once,
 * the others `ok` after ~50 ms. `--short`: a 3 s outage (3 s–6 s) inside 9 s, same rate.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src';
import { b, ScriptedServer } from '../test/support/scripted-server';
import { percentile, table } from './harness';

const args = new Set(process.argv.slice(2));
const SHORT = args.has('--short');
const JSON_OUT = args.has('--json');
const RATE = 20;
const DURATION_MS = SHORT ? 9_000 : 30_000;
const OUTAGE_FROM = SHORT ? 3_000 : 10_000;
const OUTAGE_TO = SHORT ? 6_000 : 20_000;
const OK_LATENCY_MS = 50;
const TARGETS = { requestsPerCall: 0.15, firstSuccessAfterRecoveryMs: 3_000 };

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Are you there?' }],
};

interface Call {
  readonly issuedAt: number;
  settledAt?: number;
  ok?: boolean;
  error?: string;
  /** Server arrival time of the request that produced the success. */
  servedAt?: number;
}

interface Transition {
  readonly t: number;
  readonly from: string;
  readonly to: string;
  readonly retryAfterMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const inOutage = (t: number) => t >= OUTAGE_FROM && t < OUTAGE_TO;

async function run(name: 'raw' | 'resilient') {
  const server = await ScriptedServer.start((req) => (inOutage(req.at) ? b.status(529, 'overloaded_error') : b.ok(OK_LATENCY_MS)));
  const client =
    name === 'raw'
      ? new Anthropic({ apiKey: 'bench-key', baseURL: server.url })
      : new ResilientClaude({ apiKey: 'bench-key', baseURL: server.url, logger: false });
  const transitions: Transition[] = [];
  const t0 = performance.now();
  const epoch0 = Date.now();
  const now = () => performance.now() - t0;
  if (client instanceof ResilientClaude) {
    client.on('breakerStateChange', (e) => transitions.push({ t: e.at - epoch0, from: e.from, to: e.to, retryAfterMs: e.retryAfterMs }));
  }
  server.resetClock();

  const calls: Call[] = [];
  const pending: Promise<void>[] = [];
  const total = (DURATION_MS / 1000) * RATE;
  for (let i = 0; i < total; i++) {
    await sleep(t0 + (i * 1000) / RATE - performance.now());
    const call: Call = { issuedAt: now() };
    calls.push(call);
    pending.push(
      client.messages.create(params).then(
        (message) => {
          Object.assign(call, { settledAt: now(), ok: true });
          const n = Number(/^req_(\d+)$/.exec(String((message as any)._request_id ?? ''))?.[1]);
          if (n) call.servedAt = server.requests[n - 1]?.at;
        },
        (error: unknown) => {
          Object.assign(call, { settledAt: now(), ok: false, error: (error as Error)?.constructor?.name ?? String(error) });
        },
      ),
    );
  }
  await Promise.all(pending);
  const ranMs = now();
  if (client instanceof ResilientClaude) await client.close();
  await server.close();

  const successes = calls.filter((c) => c.ok);
  const failures: Record<string, number> = {};
  for (const c of calls) if (!c.ok) failures[c.error!] = (failures[c.error!] ?? 0) + 1;
  const outageCalls = calls.filter((c) => inOutage(c.issuedAt));
  const outageRequests = server.requests.filter((r) => inOutage(r.at)).length;
  // A success after recovery necessarily came from a request that arrived after it (all others got 529).
  const recovered = successes.filter((c) => (c.servedAt ?? c.settledAt!) >= OUTAGE_TO).map((c) => c.settledAt!);
  const latencies = successes.map((c) => c.settledAt! - c.issuedAt);
  const perSecond = Array.from({ length: (OUTAGE_TO - OUTAGE_FROM) / 1000 }, (_, s) =>
    server.requests.filter((r) => r.at >= OUTAGE_FROM + s * 1000 && r.at < OUTAGE_FROM + (s + 1) * 1000).length,
  );
  // Most requests in flight at the server at once (responses open between arrival and end).
  const edges = server.requests.flatMap((r) => [[r.at, 1], [r.endedAt ?? Infinity, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let inFlight = 0;
  let peakInFlight = 0;
  for (const [, d] of edges) peakInFlight = Math.max(peakInFlight, (inFlight += d));
  return {
    client: name,
    callsIssued: calls.length,
    successes: successes.length,
    failures,
    requestsTotal: server.requests.length,
    outageRequests,
    outageCallsIssued: outageCalls.length,
    requestsPerCallDuringOutage: outageRequests / outageCalls.length,
    outageRequestsPerSecond: perSecond,
    firstSuccessAfterRecoveryMs: recovered.length ? Math.min(...recovered) - OUTAGE_TO : null,
    latencyMs: latencies.length
      ? { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) }
      : null,
    outageCallsSucceeded: outageCalls.filter((c) => c.ok).length,
    peakInFlightAtServer: peakInFlight,
    lastSettledS: ranMs / 1000,
    breakerTransitions: transitions.map((t) => ({ ...t, t: Math.round(t.t) })),
  };
}

type Result = Awaited<ReturnType<typeof run>>;

function targets(raw: Result, rc: Result) {
  const rpc = rc.requestsPerCallDuringOutage;
  const first = rc.firstSuccessAfterRecoveryMs;
  return [
    { target: `requests/call during outage <= ${TARGETS.requestsPerCall}`, value: rpc, pass: rpc <= TARGETS.requestsPerCall },
    {
      target: `first success after recovery <= ${TARGETS.firstSuccessAfterRecoveryMs} ms`,
      value: first,
      pass: first !== null && first <= TARGETS.firstSuccessAfterRecoveryMs,
    },
    { target: `successes >= raw SDK's (${raw.successes})`, value: rc.successes, pass: rc.successes >= raw.successes },
  ];
}

async function main() {
  const raw = await run('raw');
  const resilient = await run('resilient');
  const verdicts = targets(raw, resilient);
  const scenario = { callsPerSecond: RATE, durationMs: DURATION_MS, outageMs: [OUTAGE_FROM, OUTAGE_TO], okLatencyMs: OK_LATENCY_MS, short: SHORT };
  if (JSON_OUT) {
    console.log(JSON.stringify({ scenario, raw, resilient, targets: verdicts }, null, 2));
    return;
  }
  const ms = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${Math.round(n)} ms`);
  const fails = (r: Result) => Object.entries(r.failures).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
  const row = (label: string, f: (r: Result) => string) => [label, f(raw), f(resilient)];
  console.log(
    `Outage benchmark: ${RATE} calls/s for ${DURATION_MS / 1000} s, total 529 outage ${OUTAGE_FROM / 1000}–${OUTAGE_TO / 1000} s, ` +
      `ok latency ${OK_LATENCY_MS} ms (scripted server, no rate-limit headers)\n`,
  );
  console.log(
    table([
      ['', 'raw SDK', 'ResilientClaude'],
      row('calls issued', (r) => String(r.callsIssued)),
      row('successes', (r) => String(r.successes)),
      row('failures', fails),
      row('requests reaching server (total)', (r) => String(r.requestsTotal)),
      row('requests reaching server in outage', (r) => String(r.outageRequests)),
      row('requests per call issued in outage', (r) => r.requestsPerCallDuringOutage.toFixed(3)),
      row('first success after recovery', (r) => ms(r.firstSuccessAfterRecoveryMs)),
      row('success latency p50', (r) => ms(r.latencyMs?.p50)),
      row('success latency p95', (r) => ms(r.latencyMs?.p95)),
      row('success latency max', (r) => ms(r.latencyMs?.max)),
      row('outage calls succeeded', (r) => `${r.outageCallsSucceeded}/${r.outageCallsIssued}`),
      row('peak requests in flight at server', (r) => String(r.peakInFlightAtServer)),
      row('all calls settled at', (r) => `${r.lastSettledS.toFixed(1)} s`),
    ]),
  );
  console.log(`\nRequests per second in the outage: raw [${raw.outageRequestsPerSecond.join(' ')}], ResilientClaude [${resilient.outageRequestsPerSecond.join(' ')}]`);
  console.log('\nBreaker transitions (ResilientClaude, t from schedule start):');
  for (const t of resilient.breakerTransitions) {
    console.log(`  ${(t.t / 1000).toFixed(3)} s  ${t.from} -> ${t.to}${t.retryAfterMs !== undefined ? ` (probe in ${t.retryAfterMs} ms)` : ''}`);
  }
  console.log('\nTargets (ResilientClaude):');
  for (const v of verdicts) {
    const value = typeof v.value === 'number' && !Number.isInteger(v.value) ? v.value.toFixed(3) : String(v.value ?? '—');
    console.log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${value}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
