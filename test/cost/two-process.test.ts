import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/errors/budget-exceeded-error';
import { formatFemto, parseExactUsd, usdToFemto } from '../../src/cost/money';
import { RedisCostStore } from '../../src/cost/redis-cost-store';
import { SharedBudgetManager } from '../../src/cost/shared-budget';
import { REDIS_URL, cleanup, requireRedis, uniquePrefix } from './redis-helper';

const ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(__dirname, 'fixtures', 'budget-worker.ts');
const NOW = Date.UTC(2026, 10, 27, 12);

interface WorkerResult {
  readonly settled: string;
  readonly ok: number;
  readonly refused: number;
  readonly released: number;
}

function runWorker(env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', WORKER], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as WorkerResult);
      } catch (e) {
        reject(new Error(`bad worker output ${JSON.stringify(out)} / ${err}: ${String(e)}`));
      }
    });
  });
}

let admin: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  admin = await requireRedis();
});

afterAll(async () => {
  if (admin) {
    await cleanup(admin, prefix);
    admin.disconnect();
  }
});

describe('two OS processes sharing one Redis budget', () => {
  it('never overshoot the limit together, and a new manager (restart) sees their spend', async () => {
    const name = 'shared';
    const env = { REDIS_URL, PREFIX: prefix, NAME: name, WORKERS: '2', CALLS: '40', WORST: '0.1', LIMIT: '1', NOW: String(NOW) };
    const results = await Promise.all([runWorker({ ...env, WORKER_ID: '1' }), runWorker({ ...env, WORKER_ID: '2' })]);
    const settled = results.reduce((a, r) => a + parseExactUsd(r.settled), 0n);
    const refused = results.reduce((a, r) => a + r.refused, 0);
    const ok = results.reduce((a, r) => a + r.ok, 0);

    expect(settled).toBeLessThanOrEqual(usdToFemto(1));
    const released = results.reduce((a, r) => a + r.released, 0);
    expect(refused).toBeGreaterThan(0); // 80 callers for ~10 slots: contention was real
    // A refusal means ≥ 0.9 is spent or held, and each admitted call accounts for ≤ 0.1: ≥ 10 were admitted.
    expect(ok + released).toBeGreaterThanOrEqual(10);
    expect(ok).toBeGreaterThan(0);
    expect(ok + refused + released).toBe(80);

    // "Restart": a fresh store and manager in this process read the same window from Redis.
    const store = new RedisCostStore({ redis: REDIS_URL, prefix });
    try {
      const fresh = new SharedBudgetManager({ limitUsd: 1, window: 'day', now: () => NOW, name }, store);
      const state = await fresh.fetchState();
      expect(formatFemto(usdToFemto(state.spentUsd))).toBe(formatFemto(settled));
      expect(state.reservedUsd).toBe(0);
      const room = usdToFemto(1) - settled;
      await expect(fresh.reserve({ usd: { exact: formatFemto(room + 1_000_000n) } })).rejects.toBeInstanceOf(BudgetExceededError);
    } finally {
      await store.close();
    }
  }, 60_000);
});
