/**
 * Two separate Node processes share one scope through Redis and together stay within the combined
 * limit: in every window [t, t+w] between two admissions (from either process), admitted requests ≤
 * capacity + rate × w, and the same for input tokens.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, client, requireRedis, uniquePrefix } from './helpers/redis';

interface WorkerReport {
  pid: number;
  admitted: { at: number; input: number }[];
  refused: number;
  errors: string[];
}

const WORKER = join(__dirname, 'helpers', 'limiter-worker.ts');

function runWorker(env: Record<string, string>): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${String(code)}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as WorkerReport);
      } catch (e) {
        reject(new Error(`unreadable worker output: ${out} ${err} (${String(e)})`));
      }
    });
  });
}

let admin: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  await requireRedis();
  admin = client();
});

afterAll(async () => {
  if (admin) {
    await cleanup(admin, prefix);
    admin.disconnect();
  }
});

describe('two processes sharing one scope', () => {
  it('stay within the combined limit', async () => {
    const RPM = 30;
    const ITPM = 2400;
    const env = {
      RL_PREFIX: prefix,
      RL_WORKERS: '2', // both start together once both are loaded
      RL_CALLS: '40',
      RL_RUN_MS: '2500',
      RL_RPM: String(RPM),
      RL_ITPM: String(ITPM),
    };
    const reports = await Promise.all([runWorker(env), runWorker(env)]);
    for (const r of reports) {
      expect(r.errors).toEqual([]);
      expect(r.admitted.length).toBeGreaterThan(0); // both really took part
    }
    const all = reports.flatMap((r) => r.admitted).sort((a, b) => a.at - b.at);
    const total = all.length;
    // 80 calls against 30 requests / 2400 input tokens: most must have been refused.
    expect(total).toBeLessThan(80);
    expect(total + reports[0]!.refused + reports[1]!.refused).toBe(80);
    const rpmPerMs = RPM / 60_000;
    const itpmPerMs = ITPM / 60_000;
    // Timestamps come from two processes on one machine; allow 20 ms of clock-read jitter.
    for (let i = 0; i < all.length; i++) {
      let requests = 0;
      let input = 0;
      for (let j = i; j < all.length; j++) {
        requests += 1;
        input += all[j]!.input;
        const w = all[j]!.at - all[i]!.at + 20;
        expect(requests).toBeLessThanOrEqual(RPM + rpmPerMs * w);
        expect(input).toBeLessThanOrEqual(ITPM + itpmPerMs * w);
      }
    }
  }, 30_000);
});
