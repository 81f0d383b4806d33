/**
 * Clients need no `close()`, like the raw SDK: a dropped client leaves no timer and no memory behind, and
 * a client given a Redis URL does not keep the process alive (yet writes what it owes Redis first).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResilientClaude } from '../../src/client';
import { FakeAnthropicServer } from '../../src/testing';
import { closedPort, deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis';

const ROOT = resolve(__dirname, '../..');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `node <args>` from the repo root; kills it after `timeoutMs` (code null). */
function run(args: string[], env: Record<string, string>, timeoutMs: number): Promise<Exit> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('discarded clients', () => {
  it('1,000 clients that each made a call and were dropped leave no timer and no heap growth behind', async () => {
    const result = await run(['--expose-gc', '--import', 'tsx', 'bench/lifecycle.ts', '1000', '--json'], {}, 120_000);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      raw: { heapMb: number; secondRoundHeapMb: number };
      ours: { timers: number; heapMb: number; secondRoundHeapMb: number };
    };
    console.log(`[lifecycle] ${result.stdout.trim()}`);
    expect(report.ours.timers).toBeLessThanOrEqual(20);
    // One-time costs (compiled code, caches) are paid in the first round by both clients alike.
    expect(report.ours.heapMb - report.raw.heapMb).toBeLessThanOrEqual(2);
    // A second round of 1,000 must not grow the heap: nothing per client survives.
    expect(report.ours.secondRoundHeapMb).toBeLessThanOrEqual(1);
  }, 150_000);
});

describe('a client given a Redis URL, never closed', () => {
  let server: FakeAnthropicServer;
  beforeAll(async () => {
    server = await FakeAnthropicServer.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it('lets the process exit on its own, after what it recorded reached Redis', async () => {
    const redis = await requireRedis('lifecycle');
    const prefix = uniquePrefix('lifecycle');
    try {
      const result = await run(
        ['--import', 'tsx', 'test/lifecycle/dropped-client.ts'],
        { SERVER_URL: server.url, REDIS_URL, PREFIX: prefix, CALLS: '3' },
        20_000,
      );
      expect(result.code, `the process did not exit by itself (${result.stderr})`).toBe(0);
      const { spentUsd } = JSON.parse(result.stdout.trim()) as { spentUsd: number };
      expect(spentUsd).toBeGreaterThan(0);
      // What the dropped client recorded reached Redis before its process ended: another client sees it.
      const reader = new ResilientClaude({ apiKey: 'reader', baseURL: server.url, redis, redisPrefix: prefix, logger: false });
      expect((await reader.costs.sharedSummary()).totalUsd).toBeCloseTo(spentUsd, 9);
      await reader.close();
    } finally {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 30_000);

  it('lets the process exit on its own while Redis is down', async () => {
    const port = await closedPort();
    const result = await run(
      ['--import', 'tsx', 'test/lifecycle/dropped-client.ts'],
      { SERVER_URL: server.url, REDIS_URL: `redis://127.0.0.1:${port}`, PREFIX: uniquePrefix('lifecycle-down'), CALLS: '2' },
      20_000,
    );
    expect(result.code, `the process did not exit by itself (${result.stderr})`).toBe(0);
  }, 30_000);
});
