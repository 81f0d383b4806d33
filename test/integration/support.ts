/**
 * Shared helpers of the client-level integration tests (test/integration/*.test.ts): a fake server plus
 * client factory that closes everything, a bounded burst runner, a Prometheus text parser, a fetch wrapper
 * that captures raw request bodies, and a Redis guard that never skips.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { closedPort, deleteKeys, REDIS_URL, requireRedis as requireSharedRedis, uniquePrefix as sharedPrefix } from '../helpers/redis';
import { FakeAnthropicServer, type FakeAnthropicOptions } from '../../src/testing';
import { ResilientClaude } from '../../src/client';
import type { ResilientClaudeOptions } from '../../src/options';
import type { WorkerReport } from './workers/client-worker';

/** A small, valid Messages request on a model the price table knows and the SDK does not flag. */
export const MODEL = 'claude-sonnet-4-6';

/** Fast, deterministic retry settings for tests that are not about backoff itself. */
export const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, jitter: false } as const;

export function userParams(content: string, extra: Record<string, unknown> = {}) {
  return { model: MODEL, max_tokens: 64, messages: [{ role: 'user' as const, content }], ...extra };
}

/** A fake server and a factory of clients bound to it; `close()` closes every client, then the server. */
export interface Env {
  readonly server: FakeAnthropicServer;
  client(opts?: ResilientClaudeOptions): ResilientClaude;
  /** Registers anything else to close (HTTP servers, Redis connections, extra fake servers). */
  onClose(fn: () => unknown): void;
  close(): Promise<void>;
}

export async function startEnv(options: FakeAnthropicOptions = {}): Promise<Env> {
  const server = await FakeAnthropicServer.start(options);
  const clients: ResilientClaude[] = [];
  const closers: (() => unknown)[] = [];
  return {
    server,
    client(opts: ResilientClaudeOptions = {}) {
      const c = new ResilientClaude({ apiKey: 'test-key', baseURL: server.url, logger: false, retry: fastRetry, ...opts });
      clients.push(c);
      return c;
    },
    onClose(fn) {
      closers.push(fn);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      for (const fn of closers.reverse()) await fn();
      await server.close();
    },
  };
}

/** The `POST /v1/messages` records of a server's ledger. */
export function messageRecords(server: FakeAnthropicServer) {
  return server.ledger.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitUntil(check: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** Outcome of {@link runBurst}. */
export interface BurstResult {
  readonly started: number;
  readonly ok: number;
  readonly errors: unknown[];
  /** True when the time cap stopped the burst before every call had started. */
  readonly capped: boolean;
  readonly elapsedMs: number;
}

/**
 * Runs `calls` calls with at most `concurrency` in flight. After `capMs` no new call starts (so a broken
 * limiter cannot make the test run for minutes; a capped burst is reported, and the caller asserts on it).
 */
export async function runBurst(
  call: (i: number) => Promise<unknown>,
  opts: { calls: number; concurrency: number; capMs: number },
): Promise<BurstResult> {
  const start = Date.now();
  let next = 0;
  let ok = 0;
  let capped = false;
  const errors: unknown[] = [];
  const worker = async () => {
    for (;;) {
      if (next >= opts.calls) return;
      if (Date.now() - start > opts.capMs) {
        capped = true;
        return;
      }
      const i = next++;
      try {
        await call(i);
        ok++;
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { started: next, ok, errors, capped, elapsedMs: Date.now() - start };
}

// --- Prometheus text exposition --------------------------------------------------------------------

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text format (enough of it for prom-client's output). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    for (const lm of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, '$1');
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `where`. */
export function sumOf(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// --- raw request capture ---------------------------------------------------------------------------

export interface CapturedRequest {
  readonly url: string;
  readonly body: string | undefined;
  readonly headers: Headers;
}

/** A `fetch` that records the exact body string of every request, then forwards to the global fetch. */
export function capturingFetch(sink: CapturedRequest[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = init?.body;
    sink.push({ url, body: typeof body === 'string' ? body : body == null ? undefined : `<${typeof body}>`, headers: new Headers(init?.headers) });
    return fetch(input, init);
  }) as typeof fetch;
}

// --- Redis -----------------------------------------------------------------------------------------

/** The test Redis, without a database number. */
export const REDIS_BASE = REDIS_URL;

/** Connects to the test Redis (optionally a db number) or throws — these tests never skip. */
export function requireRedis(db = 0): Promise<Redis> {
  return requireSharedRedis('integration', db);
}

/** A Redis key prefix unique to one test. */
export function uniquePrefix(tag: string): string {
  return sharedPrefix(`it:${tag}`);
}

export { closedPort, deleteKeys };

// --- worker processes ------------------------------------------------------------------------------

export type { WorkerReport };

const WORKER = join(__dirname, 'workers', 'client-worker.ts');
const ROOT = resolve(__dirname, '..', '..');

/** Spawns `node --import tsx workers/client-worker.ts` (a separate OS process) and returns its report. */
export function runWorker(env: Record<string, string>, timeoutMs = 60_000): Promise<WorkerReport> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${child.pid} did not finish within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`worker exited with ${String(code)}: ${err}`));
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '') as WorkerReport);
      } catch (error) {
        reject(new Error(`unreadable worker output ${JSON.stringify(out)} / ${err}: ${String(error)}`));
      }
    });
  });
}
