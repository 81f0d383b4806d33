/**
 * Batches outlive the process that sent them, through Redis: a process killed after sending, or closed
 * while its batches ran, leaves them for `client.batching.resume()` in another process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callOptions } from '../../src/call-options';
import { ResilientClaude } from '../../src/client';
import { BatchCallError } from '../../src/errors/batch-call-error';
import { FakeAnthropicServer } from '../../src/testing';
import { REDIS_URL, requireRedis } from '../helpers/redis';

const WORKER = join(__dirname, 'helpers', 'crash-worker.ts');
const HOUR = 3_600_000;

let admin: Redis;
beforeAll(async () => {
  admin = await requireRedis('batch restart');
});
afterAll(() => admin.quit());

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup() {
  const clock = { offset: 0 };
  const server = await FakeAnthropicServer.start({ clock: () => Date.now() + clock.offset, batches: { processingMs: HOUR } });
  const prefix = `rc-test-${randomBytes(4).toString('hex')}:`;
  cleanup.push(() => server.close());
  cleanup.push(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  });
  const make = () => {
    const client = new ResilientClaude({
      apiKey: 'k',
      baseURL: server.url,
      logger: false,
      redis: REDIS_URL,
      redisPrefix: prefix,
      batch: { maxDelayMs: 10, pollIntervalMs: 20, maxPollIntervalMs: 50, claimMs: 1_000 },
    });
    cleanup.push(() => client.close());
    return client;
  };
  return { server, clock, prefix, make };
}

function runCrashingWorker(env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === null && code !== 0 ? reject(new Error(`worker exited ${String(code)}: ${err}`)) : resolve({ signal, out })));
  });
}

describe('batches across a restart (real Redis)', () => {
  it('collects, after the sender was killed, every call it sent, with its ref, once its claim has lapsed', async () => {
    const { server, clock, prefix, make } = await setup();
    const run = await runCrashingWorker({ BASE_URL: server.url, REDIS_URL, PREFIX: prefix });
    expect(run.signal).toBe('SIGKILL');
    expect(server.batchesCreated()).toHaveLength(1);

    const client = make();
    // The dead process's claim (3 s) is still live: nothing to take over yet.
    const claimKey = `${prefix}batch:claim:${server.batchesCreated()[0]!.id}`;
    expect(await admin.pttl(claimKey)).toBeGreaterThan(0);
    expect(await client.batching.resume({ wait: false })).toEqual([]);
    // Once it lapses (Redis expires it; nothing renews it), the batch is anyone's.
    while ((await admin.exists(claimKey)) === 1) await new Promise((r) => setTimeout(r, 50));
    // Claimed now, but the batch is still in progress: left for later without waiting.
    expect(await client.batching.resume({ wait: false })).toEqual([]);

    clock.offset = HOUR;
    const recovered = await client.batching.resume();
    expect(recovered.map((c) => c.ref).sort()).toEqual(['ticket-0', 'ticket-1', 'ticket-2', 'ticket-3', 'ticket-4']);
    for (const call of recovered) {
      expect(call).toMatchObject({ batchId: server.batchesCreated()[0]!.id, user: 'team-a', tags: ['triage'], model: 'claude-sonnet-4-6' });
      expect(call.result.type).toBe('succeeded');
    }
    // Priced in the ledger at the batch price, and forgotten in Redis: a second resume finds nothing.
    const summary = client.costs.summary();
    expect(summary.requests).toBe(5);
    expect(summary.savedUsd).toBeCloseTo(summary.totalUsd, 12);
    expect(await client.batching.resume()).toEqual([]);
    expect(await admin.hlen(`${prefix}batch:pending`)).toBe(0);
  });

  it('resume() waits for a killed sender\'s claim to lapse, then collects its batch', async () => {
    const { server, clock, prefix, make } = await setup();
    await runCrashingWorker({ BASE_URL: server.url, REDIS_URL, PREFIX: prefix });
    clock.offset = HOUR;
    const started = Date.now();
    const recovered = await make().batching.resume();
    expect(recovered).toHaveLength(5);
    // It had to wait for the 3-second claim, and not much longer.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('close() sends what was gathered, releases its batches at once, and another process collects them', async () => {
    const { server, clock, make } = await setup();
    const first = make();
    const inFlight = first.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: 'one' }] },
      callOptions({ batch: { ref: 'sent-before-close' } }),
    );
    const settledFirst = inFlight.catch((e: unknown) => e);
    await new Promise<void>((resolve) => first.on('batchSubmitted', () => resolve()));
    const gathered = first
      .messages.create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: 'two' }] }, callOptions({ batch: { ref: 'gathered-at-close' } }))
      .catch((e: unknown) => e);
    while (first.batching.pending.gathered === 0) await new Promise((r) => setTimeout(r, 2));
    await first.close();
    for (const error of [await settledFirst, await gathered]) {
      expect(error).toBeInstanceOf(BatchCallError);
      expect(error).toMatchObject({ reason: 'closed', submitted: true });
    }
    expect(server.batchesCreated()).toHaveLength(2);
    expect(server.batchesCreated().some((b) => b.canceled)).toBe(false);

    clock.offset = HOUR;
    const second = make();
    const recovered = await second.batching.resume();
    expect(recovered.map((c) => c.ref).sort()).toEqual(['gathered-at-close', 'sent-before-close']);
  });

  it('a live process keeps its batches: another process resuming meanwhile takes none of them', async () => {
    const { server, clock, make } = await setup();
    const owner = make();
    const call = owner.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: 'mine' }] }, callOptions({ batch: true }));
    await new Promise<void>((resolve) => owner.on('batchSubmitted', () => resolve()));
    await new Promise((r) => setTimeout(r, 1_500));
    const other = make();
    expect(await other.batching.resume({ wait: false })).toEqual([]);
    clock.offset = HOUR;
    await expect(call).resolves.toMatchObject({ type: 'message' });
    expect(server.batchesCreated()).toHaveLength(1);
  });
});
