/**
 * What discarded clients leave behind: N clients, each makes one call against the fake server (in this
 * process) and is dropped without `close()`. After a forced GC it reports live timers, other handles and
 * the heap growth, next to the same run with the raw SDK; then a second round of N, whose growth is the
 * leak signal (the first round also pays for one-time costs: compiled code, caches). Also: idle CPU over
 * one second afterwards.
 *
 * Run: `node --expose-gc --import tsx bench/lifecycle.ts [clients] [--json]` (needs `--expose-gc`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { createHook } from 'node:async_hooks';
import { ResilientClaude } from '../src/client';
import { FakeAnthropicServer } from '../src/testing';

const CLIENTS = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const params = { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };

async function settle(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc!();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc!();
  return process.memoryUsage().heapUsed;
}

// Every live timer, unref'd ones included (`getActiveResourcesInfo()` lists only those that hold the
// process open; an unref'd interval still runs, and still holds what its callback references).
const liveTimers = new Set<number>();
createHook({
  init(id, type) {
    if (type === 'Timeout') liveTimers.add(id);
  },
  destroy(id) {
    liveTimers.delete(id);
  },
}).enable();

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

interface LifecycleResult {
  readonly timers: number;
  /** Heap growth after the first N clients, MB. */
  readonly heapMb: number;
  /** Heap growth during a second round of N clients, MB. */
  readonly secondRoundHeapMb: number;
  readonly handles: Record<string, number>;
  readonly idleCpuPct: number;
}

async function run(make: (baseURL: string) => Anthropic): Promise<LifecycleResult> {
  const server = await FakeAnthropicServer.start();
  // Warm up: modules, JIT, the server's own structures.
  for (let i = 0; i < 50; i++) await make(server.url).messages.create(params);
  server.resetLedger();
  const before = await settle();
  const timersBefore = liveTimers.size;
  const round = async () => {
    for (let i = 0; i < CLIENTS; i++) {
      const client = make(server.url);
      await client.messages.create(params);
    }
    server.resetLedger();
    return settle();
  };
  const after = await round();
  const afterSecond = await round();
  const counts = handles();
  const cpuStart = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const cpu = process.cpuUsage(cpuStart);
  const result = {
    timers: liveTimers.size - timersBefore,
    heapMb: (after - before) / 1024 / 1024,
    secondRoundHeapMb: (afterSecond - after) / 1024 / 1024,
    handles: counts,
    idleCpuPct: ((cpu.user + cpu.system) / 1e6 / 1) * 100,
  };
  await server.close();
  return result;
}

async function main(): Promise<void> {
  const raw = await run((baseURL) => new Anthropic({ apiKey: 'k', baseURL, maxRetries: 0 }));
  const ours = await run((baseURL) => new ResilientClaude({ apiKey: 'k', baseURL }));
  const report = { clients: CLIENTS, raw, ours };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report));
    return;
  }
  for (const [name, r] of Object.entries({ raw, ResilientClaude: ours })) {
    console.log(
      `${name.padEnd(16)} timers ${r.timers >= 0 ? "+" : ""}${r.timers}  heap +${r.heapMb.toFixed(2)} MB (second ${CLIENTS}: ${r.secondRoundHeapMb >= 0 ? '+' : ''}${r.secondRoundHeapMb.toFixed(2)} MB)  idle CPU ${r.idleCpuPct.toFixed(2)} %  handles ${JSON.stringify(r.handles)}`,
    );
  }
}

void main();
