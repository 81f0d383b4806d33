import type { BudgetState } from '../src/cost';
import { inOutage } from './day';
import type { CallResult } from './workload';

/** What one run of the day came to. */
export interface RunSummary {
  readonly name: string;
  readonly results: readonly CallResult[];
  readonly requestsSent: number;
  readonly server429s: number;
  readonly sentDuringOutage: number;
  readonly served: number;
  readonly retries: number;
  readonly breakerTrips: number;
  /** Calls that waited for client-side rate-limit capacity, and their total wait. */
  readonly waited: number;
  readonly waitMs: number;
  readonly costs: { byUser: Record<string, number>; byModel: Record<string, number>; budget: BudgetState | undefined };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A text table: the first row is the header, the first column left-aligned, the others right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, ri) => {
      const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
      return ri === 0 ? `${line}\n${widths.map((w) => '─'.repeat(w)).join('   ')}` : line;
    })
    .join('\n');
}

export const usd = (n: number | undefined) => (n === undefined ? '—' : `$${n.toFixed(4)}`);

/** Prints the side-by-side table. */
export function printReport(runs: readonly RunSummary[], seconds: number): void {
  const [a, b] = runs as [RunSummary, RunSummary];
  const ok = (r: RunSummary) => r.results.filter((x) => x.ok && !x.silentlyTruncated).length;
  const failedBy = (r: RunSummary) => {
    const counts: Record<string, number> = {};
    for (const x of r.results) if (!x.ok) counts[x.errorClass ?? 'Error'] = (counts[x.errorClass ?? 'Error'] ?? 0) + 1;
    return counts;
  };
  const fa = failedBy(a);
  const fb = failedBy(b);
  const classes = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  const lat = (r: RunSummary, p: number) => `${percentile(r.results.filter((x) => x.ok).map((x) => x.latencyMs), p).toFixed(0)} ms`;
  // Calls issued while the service was down: the outage, seen by the caller.
  const outageCalls = (r: RunSummary) => r.results.filter((x) => inOutage(x.call.at));
  const outageOk = (r: RunSummary) => outageCalls(r).filter((x) => x.ok && !x.silentlyTruncated);
  const outageLat = (r: RunSummary) => {
    const ms = outageOk(r).map((x) => x.latencyMs);
    return ms.length ? `${(percentile(ms, 50) / 1000).toFixed(1)} s / ${(percentile(ms, 95) / 1000).toFixed(1)} s` : '—';
  };
  const rows: string[][] = [
    ['', a.name, b.name],
    ['calls succeeded', String(ok(a)), String(ok(b))],
    ['silently truncated "successes"', String(a.results.filter((x) => x.silentlyTruncated).length), String(b.results.filter((x) => x.silentlyTruncated).length)],
    ['calls failed', String(a.results.filter((x) => !x.ok).length), String(b.results.filter((x) => !x.ok).length)],
    ...classes.map((c) => [`  ${c}`, String(fa[c] ?? 0), String(fb[c] ?? 0)]),
    ['HTTP requests sent', String(a.requestsSent), String(b.requestsSent)],
    ['server 429s', String(a.server429s), String(b.server429s)],
    ['requests sent during the outage', String(a.sentDuringOutage), String(b.sentDuringOutage)],
    ['calls issued during the outage that succeeded', `${outageOk(a).length} of ${outageCalls(a).length}`, `${outageOk(b).length} of ${outageCalls(b).length}`],
    ['  their latency p50 / p95', outageLat(a), outageLat(b)],
    ['retries', 'not visible', String(b.retries)],
    ['circuit breaker trips', '—', String(b.breakerTrips)],
    ['calls that queued for rate-limit capacity', '—', b.waited ? `${b.waited} (avg ${(b.waitMs / b.waited / 1000).toFixed(1)} s)` : '0'],
    ['latency p50 (successes)', lat(a, 50), lat(b, 50)],
    ['latency p95 (successes)', lat(a, 95), lat(b, 95)],
  ];
  console.log(`\nThe day, ${seconds.toFixed(0)} s wall time:\n`);
  console.log(table(rows));

  const models = [...new Set([...Object.keys(a.costs.byModel), ...Object.keys(b.costs.byModel)])].sort();
  const users = [...new Set([...Object.keys(a.costs.byUser), ...Object.keys(b.costs.byUser)])].sort();
  const costRows: string[][] = [
    ['cost', `${a.name} (priced by the demo)`, `${b.name} (client.costs)`],
    ...models.map((m) => [`  ${m}`, usd(a.costs.byModel[m]), usd(b.costs.byModel[m])]),
    ...users.map((u) => [`  user ${u}`, usd(a.costs.byUser[u]), usd(b.costs.byUser[u])]),
    [
      'total',
      usd(Object.values(a.costs.byModel).reduce((s, v) => s + v, 0)),
      usd(Object.values(b.costs.byModel).reduce((s, v) => s + v, 0)),
    ],
  ];
  console.log(`\n${table(costRows)}`);
  const budget = b.costs.budget;
  if (budget) {
    console.log(
      `\nBudget (${b.name}): spent ${usd(budget.spentUsd)} of ${usd(budget.limitUsd)}, ${usd(budget.remainingUsd)} left; ` +
        `calls refused before sending: ${fb.BudgetExceededError ?? 0}. Resets ${new Date(budget.windowResetAt).toISOString()}.`,
    );
  }
  const truncatedA = a.results.filter((x) => x.silentlyTruncated).length;
  console.log(
    [
      '',
      'What happened:',
      `- Rate limits: the raw SDK drew ${a.server429s} × 429 (${fa.RateLimitError ?? 0} calls lost); ResilientClaude learned the limits from the`,
      `  response headers and drew ${b.server429s}: calls beyond the limit waited in its queue instead (hence its higher p95 latency).`,
      `- Outage: the raw SDK kept sending (${a.sentDuringOutage} requests) and ${outageCalls(a).length - outageOk(a).length} of its calls failed; ResilientClaude's breaker`,
      `  opened, sent only probes (${b.sentDuringOutage} requests in all) and held the calls until a probe saw the service back:`,
      `  ${outageOk(b).length} of ${outageCalls(b).length} outage calls succeeded, late (p50 / p95 ${outageLat(b)}) rather than failed.`,
      `- Overload: ${fa.OverloadedError ?? 0} raw calls ended in OverloadedError, ${fb.OverloadedError ?? 0} through ResilientClaude (full-jitter retries).`,
      `- Streams: ${truncatedA} raw answers were silently cut short and looked successful; ResilientClaude resumed streams that failed`,
      `  before their first token and raised StreamInterruptedError (${fb.StreamInterruptedError ?? 0}) for those that died mid-way.`,
    ].join('\n'),
  );
}
