/**
 * Shared helpers of the reliability suite (chaos, soak, Redis restart): a seeded PRNG, a bounded worker
 * pool, per-call watchdogs, an unhandled-rejection counter, a secret scanner for captured output, forced
 * GC and heap figures, active-resource counts, and a private redis-server that can be killed and restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AnthropicError } from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { EventHub, type ResilientClaudeEventName } from '../../src/events';
import { ResilientClaudeError } from '../../src/errors/resilient-claude-error';
import type { ResilientClaude } from '../../src/client';
import { seededRandom } from '../../src/keys/strategies';

// --- randomness -------------------------------------------------------------------------------------

/** mulberry32, the library's own seeded PRNG: floats in [0, 1). */
export { seededRandom };

/** Picks from `[weight, value]` pairs with the given random source. */
export function weighted<T>(random: () => number, choices: ReadonlyArray<readonly [number, T]>): T {
  const total = choices.reduce((sum, [w]) => sum + w, 0);
  let x = random() * total;
  for (const [w, value] of choices) {
    x -= w;
    if (x < 0) return value;
  }
  return choices[choices.length - 1]![1];
}

/** A canary API key: it must never show up in anything the client emits. */
export function canaryKey(): string {
  return `sk-ant-api03-CANARY${randomBytes(12).toString('hex')}-reliability`;
}

// --- running calls ----------------------------------------------------------------------------------

/** Runs `task(0 … count-1)` with at most `inFlight` running at once; resolves when all have settled. */
export async function runPool(count: number, inFlight: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/** What a watched call came to. */
export type Watched<T> = { readonly status: 'resolved'; readonly value: T } | { readonly status: 'rejected'; readonly error: unknown } | { readonly status: 'hung' };

/**
 * Settles `run()` or gives up after `ms` (the call is then reported as hung; the watchdog does not cancel
 * it). The timer is cleared as soon as the call settles, so watchdogs leave no handles behind.
 */
export async function watchdog<T>(ms: number, run: () => Promise<T>): Promise<Watched<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Watched<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'hung' }), ms);
  });
  const settled = run().then(
    (value): Watched<T> => ({ status: 'resolved', value }),
    (error: unknown): Watched<T> => ({ status: 'rejected', error }),
  );
  try {
    return await Promise.race([settled, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an error is one a caller is promised: the SDK's (`AnthropicError` and subclasses) or ours. */
export function isKnownError(error: unknown): boolean {
  // StreamInterruptedError extends the SDK's APIConnectionError, hence AnthropicError.
  return error instanceof AnthropicError || error instanceof ResilientClaudeError;
}

/** Counts `unhandledRejection`s from now on (vitest fails the run on them too; this gives a number). */
export function trackUnhandledRejections(): { readonly count: () => number; readonly reasons: unknown[]; dispose(): void } {
  const reasons: unknown[] = [];
  const onRejection = (reason: unknown) => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  return {
    count: () => reasons.length,
    reasons,
    dispose: () => {
      process.off('unhandledRejection', onRejection);
    },
  };
}

/** Text of a message's content blocks. */
export function textOf(content: ReadonlyArray<{ type: string; text?: string }>): string {
  return content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join('');
}

// --- figures ----------------------------------------------------------------------------------------

/** The p-th percentile (0–100) of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Adds one to `counts[key]`. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** `{a: 1, b: 2}` → `a 1 · b 2`, largest first. */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  return entries.length === 0 ? '—' : entries.map(([k, v]) => `${k} ${v}`).join(' · ');
}

/** Prints a compact two-column table (long values wrap onto continuation lines). */
export function printTable(title: string, rows: ReadonlyArray<readonly [string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  const wrapAt = 96;
  const lines = [`\n── ${title} ${'─'.repeat(Math.max(0, 100 - title.length))}`];
  for (const [key, raw] of rows) {
    const value = String(raw);
    const chunks: string[] = [];
    let rest = value;
    while (rest.length > wrapAt) {
      const cut = rest.lastIndexOf(' · ', wrapAt);
      const at = cut > 0 ? cut + 3 : wrapAt;
      chunks.push(rest.slice(0, at).trimEnd());
      rest = rest.slice(at);
    }
    chunks.push(rest);
    chunks.forEach((chunk, i) => lines.push(`  ${(i === 0 ? key : '').padEnd(width)}  ${chunk}`));
  }
  console.log(lines.join('\n'));
}

// --- secrets ----------------------------------------------------------------------------------------

/**
 * Looks for a secret in everything handed to it: a pino destination (every log line), and any value
 * (`scan`), rendered with `util.inspect` (own enumerable and nested properties, causes) and JSON.
 */
export class SecretScanner {
  readonly hits: string[] = [];
  logLines = 0;
  logBytes = 0;
  scanned = 0;

  constructor(private readonly secret: string) {}

  /** A pino destination that scans every line and keeps none. */
  destination(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        this.logLines++;
        this.logBytes += text.length;
        if (text.includes(this.secret)) this.hits.push(`log line: ${text.slice(0, 200)}`);
        callback();
      },
    });
  }

  /** Scans a value (error, event payload, text). */
  scan(where: string, value: unknown): void {
    this.scanned++;
    const texts: string[] = [];
    if (typeof value === 'string') texts.push(value);
    else {
      texts.push(inspect(value, { depth: 8, showHidden: false, breakLength: Infinity }));
      if (value instanceof Error) texts.push(String(value.stack), value.message);
      try {
        texts.push(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '');
      } catch {
        // circular: inspect covered it
      }
    }
    if (texts.some((t) => t.includes(this.secret))) this.hits.push(where);
  }
}

/** Every event a client emits. */
export const EVENT_NAMES: readonly ResilientClaudeEventName[] = [
  'retry',
  'breakerStateChange',
  'callComplete',
  'cost',
  'budgetWarning',
  'unknownModel',
  'redisError',
  'redisRecovered',
  'suspiciousInput',
  'rateLimited',
  'keyQuarantined',
];

/** Subscribes `listener` to every event; returns the unsubscribe function. */
export function onEveryEvent(client: ResilientClaude, listener: (name: ResilientClaudeEventName, payload: unknown) => void): () => void {
  const bound = EVENT_NAMES.map((name) => {
    const fn = (payload: unknown) => listener(name, payload);
    client.on(name, fn as never);
    return [name, fn] as const;
  });
  return () => {
    for (const [name, fn] of bound) client.off(name, fn as never);
  };
}

// --- heap, handles, listeners -----------------------------------------------------------------------

let gcFunction: (() => void) | undefined;

/** A full GC function, whether or not the worker was started with `--expose-gc`. */
export function gcFn(): () => void {
  if (gcFunction) return gcFunction;
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return (gcFunction = global);
  setFlagsFromString('--expose-gc');
  gcFunction = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  return gcFunction;
}

/** `heapUsed` in MB after full collections (with turns of the event loop between them for finalizers). */
export async function settledHeapMb(): Promise<number> {
  const gc = gcFn();
  for (let i = 0; i < 4; i++) {
    gc();
    await delay(20);
  }
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Counts of `process.getActiveResourcesInfo()` by type (`Timeout`, `TCPSocketWrap`, …). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) bump(counts, type);
  return counts;
}

/**
 * Captures the `EventHub` of every client constructed while `construct` runs (the hub is private to the
 * client; its prototype is not), so a test can read its listener count.
 */
export function captureEventHub<T>(construct: () => T): { readonly value: T; readonly hub: EventHub } {
  let hub: EventHub | undefined;
  const seen = (instance: EventHub) => {
    hub ??= instance;
  };
  const original = EventHub.prototype.on;
  EventHub.prototype.on = function (this: EventHub, ...args: Parameters<EventHub['on']>) {
    seen(this);
    return original.apply(this, args);
  } as EventHub['on'];
  try {
    const value = construct();
    if (!hub) {
      // No listener registered at construction: reach the hub through the first subscription.
      const probe = () => undefined;
      (value as unknown as ResilientClaude).on('retry', probe);
      (value as unknown as ResilientClaude).off('retry', probe);
    }
    if (!hub) throw new Error('could not capture the client EventHub');
    return { value, hub };
  } finally {
    EventHub.prototype.on = original;
  }
}

// --- a private redis-server -------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (asked from the OS; the private redis-server then binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of this test alone (never the shared one on 6379), without persistence, that can be
 * killed and started again on the same port. `stop()` kills it for good.
 */
export class PrivateRedis {
  #child: ChildProcess | undefined;
  readonly url: string;

  private constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.up();
    return redis;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts the server and waits until it answers PING (bounded: 10 s). */
  async up(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    probe.on('error', () => undefined);
    const until = Date.now() + 10_000;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} (port ${this.port})`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          probe.disconnect();
        }
        if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
        await delay(50);
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Kills the server (SIGKILL: a crash, no shutdown courtesy) and waits for the process to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills it for good. */
  async stop(): Promise<void> {
    await this.kill();
    this.#child = undefined;
  }
}
