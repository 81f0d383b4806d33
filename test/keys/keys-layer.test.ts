import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResilientClaude } from '../../src/client';
import { NoUsableKeyError } from '../../src/errors/no-usable-key-error';
import type { CallRecord, RetryEvent } from '../../src/events';
import { KeyPool, seededRandom, type KeyPoolOptions, type KeyQuarantinedEvent } from '../../src/keys';
import { createKeysLayer, type KeysLayerDeps } from '../../src/layers/keys';
import { resolveLogging } from '../../src/logging';
import type { ResilientClaudeOptions } from '../../src/options';
import type { Middleware } from '../../src/sdk-types';
import { FakeAnthropicServer, faults } from '../../src/testing';
import { fastRetry, messageRequests, params } from '../helpers/setup';

// Distinctive key texts, so that "never appears anywhere" cannot pass or fail by coincidence.
const K1 = 'sk-test-pool-alpha-7f3a91c2';
const K2 = 'sk-test-pool-bravo-52be07d4';
const K3 = 'sk-test-pool-charlie-c81d3e6f';
const KEYS = [K1, K2, K3];
const DEFAULT_KEY = 'sk-test-client-default-0e4b'; // not accepted by the server: only pooled keys work

/** Test-only: a client with the keys layer in front of its per-request layers (the lead wires the real option). */
class PooledClient extends ResilientClaude {
  keysLayer: Middleware | undefined;
  protected override backendMiddleware(): ReadonlyArray<Middleware> {
    const own = super.backendMiddleware();
    return this.keysLayer ? [this.keysLayer, ...own] : own;
  }
}

let server: FakeAnthropicServer;
const clients: ResilientClaude[] = [];

beforeEach(async () => {
  server = await FakeAnthropicServer.start({ apiKeys: [...KEYS] });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

function pooled(
  poolOptions: Partial<KeyPoolOptions> = {},
  clientOptions: ResilientClaudeOptions = {},
  deps: KeysLayerDeps = {},
): { client: PooledClient; pool: KeyPool; quarantined: KeyQuarantinedEvent[] } {
  const pool = new KeyPool({ apiKeys: KEYS, ...poolOptions });
  const quarantined: KeyQuarantinedEvent[] = [];
  const client = new PooledClient({ apiKey: DEFAULT_KEY, baseURL: server.url, logger: false, retry: fastRetry, ...clientOptions });
  client.keysLayer = createKeysLayer(pool, {
    onKeyQuarantined: (e) => quarantined.push(e),
    ...deps,
  });
  clients.push(client);
  return { client, pool, quarantined };
}

/** The key each `/v1/messages` request presented, as the server saw it. */
function keysSeen(): (string | undefined)[] {
  return messageRequests(server).map((r) => r.apiKey);
}

function tally(list: readonly (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[String(x)] = (out[String(x)] ?? 0) + 1;
  return out;
}

describe('keys layer: distribution', () => {
  it('round robin: an exact rotation over the keys, replacing the client default key', async () => {
    const { client } = pooled();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    for (let i = 0; i < 9; i++) await client.messages.create(params);
    expect(keysSeen()).toEqual([K1, K2, K3, K1, K2, K3, K1, K2, K3]);
    expect(records.map((r) => r.notes?.keyAlias)).toEqual(['key-1', 'key-2', 'key-3', 'key-1', 'key-2', 'key-3', 'key-1', 'key-2', 'key-3']);
  });

  it('weights are respected', async () => {
    const { client } = pooled({ apiKeys: [{ key: K1, weight: 2 }, { key: K2 }, { key: K3 }] });
    for (let i = 0; i < 8; i++) await client.messages.create(params);
    expect(tally(keysSeen())).toEqual({ [K1]: 4, [K2]: 2, [K3]: 2 });
  });

  it('random: the sequence a seeded source gives', async () => {
    const { client } = pooled({ keyStrategy: 'random', random: seededRandom(11) });
    const expected = new KeyPool({ apiKeys: KEYS, keyStrategy: 'random', random: seededRandom(11) });
    const aliases = Array.from({ length: 12 }, () => expected.pick().alias);
    for (let i = 0; i < 12; i++) await client.messages.create(params);
    expect(keysSeen()).toEqual(aliases.map((a) => KEYS[Number(a.slice(4)) - 1]));
  });

  it('least_loaded: concurrent calls each get an idle key', async () => {
    // A barrier in fetch: no response comes back before all three requests were sent, so all three are
    // in flight together by construction, whatever the machine's speed.
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (++arrived === 3) open();
      await gate;
      return globalThis.fetch(input, init);
    };
    const { client, pool } = pooled({ keyStrategy: 'least_loaded' }, { fetch });
    await Promise.all([0, 1, 2].map(() => client.messages.create(params)));
    expect(tally(keysSeen())).toEqual({ [K1]: 1, [K2]: 1, [K3]: 1 });
    expect(pool.snapshot().map((s) => s.inFlight)).toEqual([0, 0, 0]);
  });

  it('least_loaded: a stream keeps its key busy until its body has arrived', async () => {
    // The streaming body is held back until the test opens the gate: the stream is in flight by
    // construction, not by timing.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!response.body || !(response.headers.get('content-type') ?? '').includes('event-stream')) return response;
      const held = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          async transform(chunk, controller) {
            await gate;
            controller.enqueue(chunk);
          },
        }),
      );
      return new Response(held, response);
    };
    const { client, pool } = pooled({ keyStrategy: 'least_loaded' }, { fetch });
    const stream = await client.messages.create({ ...params, stream: true }); // headers only: body held
    expect(keysSeen()).toEqual([K1]);
    expect(pool.snapshot()[0]?.inFlight).toBe(1);
    for (let i = 0; i < 4; i++) await client.messages.create(params);
    expect(keysSeen()).toEqual([K1, K2, K3, K2, K3]);

    openGate();
    for await (const _event of stream) {
      // read to the end
    }
    await expect.poll(() => pool.snapshot()[0]?.inFlight).toBe(0);
    for (let i = 0; i < 3; i++) await client.messages.create(params);
    expect(keysSeen().slice(5)).toEqual([K2, K3, K1]); // key-1 is back in the rotation
  });

  it('a request that sets its own auth header is left alone', async () => {
    const { client, pool } = pooled();
    await client.messages.create(params, { headers: { Authorization: `Bearer ${K3}` } });
    expect(keysSeen()).toEqual([K3]);
    expect(pool.snapshot().map((s) => s.requests)).toEqual([0, 0, 0]);
  });
});

describe('keys layer: failover', () => {
  it('a revoked key is quarantined and every call still succeeds on the others, streams included', async () => {
    server.revokeKey(K2);
    const { client, pool, quarantined } = pooled();
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));

    for (let i = 0; i < 5; i++) await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    const stream = client.messages.stream(params);
    await expect(stream.finalMessage()).resolves.toMatchObject({ type: 'message' });

    // key-2 was tried once (401), then never again; no retry budget or backoff was used for it. The
    // rotation restarts over the remaining keys when the usable set changes.
    expect(keysSeen()).toEqual([K1, K2, K1, K3, K1, K3, K1]);
    expect(quarantined).toEqual([expect.objectContaining({ alias: 'key-2', status: 401, reason: 'authentication_error' })]);
    expect(pool.snapshot()[1]).toMatchObject({ alias: 'key-2', quarantined: true, status: 401 });
    expect(records[1]).toMatchObject({ ok: true, attempts: 2, notes: { keyAlias: 'key-1', keyFailovers: 1 } });
    expect(records.every((r) => r.ok)).toBe(true);
  });

  it('concurrent calls hitting a revoked key: one quarantine event, every call succeeds', async () => {
    server.revokeKey(K2);
    const { client, quarantined } = pooled();
    const results = await Promise.all(Array.from({ length: 9 }, () => client.messages.create(params)));
    expect(results.every((m) => m.type === 'message')).toBe(true);
    expect(quarantined.map((e) => e.alias)).toEqual(['key-2']);
    const seen = keysSeen();
    expect(seen.filter((k) => k === K2).length).toBeGreaterThanOrEqual(1);
    expect(seen.length - seen.filter((k) => k === K2).length).toBe(9); // one success per call
  });

  it('a quarantined key is re-checked after quarantineMs and used again once it works', async () => {
    let now = 1_000;
    server.revokeKey(K1);
    const { client, pool } = pooled({ quarantineMs: 60_000, now: () => now });
    await client.messages.create(params);
    expect(pool.isQuarantined('key-1')).toBe(true);
    server.addKey(K1);
    now += 60_000;
    for (let i = 0; i < 3; i++) await client.messages.create(params);
    expect(keysSeen()).toEqual([K1, K2, K1, K2, K3]);
    expect(pool.isQuarantined('key-1')).toBe(false);
  });

  it('restore() brings a key back at once', async () => {
    server.revokeKey(K1);
    const { client, pool } = pooled({ quarantineMs: Infinity });
    await client.messages.create(params);
    server.addKey(K1);
    expect(pool.restore('key-1')).toBe(true);
    await client.messages.create(params);
    await client.messages.create(params);
    expect(keysSeen()).toEqual([K1, K2, K1, K2]);
  });

  it.each([
    ['529', () => faults.overloaded()],
    ['429', () => faults.rateLimited({ retryAfterMs: 1 })],
  ])('%s on one key: the retry uses another key', async (_status, fault) => {
    // `random` drawing 0 always picks the first candidate: without the layer's "avoid" the retry
    // would go to key-1 again.
    server.inject(fault(), { match: (r) => r.apiKey === K1 });
    const { client } = pooled({ keyStrategy: 'random', random: () => 0 });
    const retries: RetryEvent[] = [];
    client.on('retry', (e) => retries.push(e));
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(keysSeen()).toEqual([K1, K2]);
    expect(retries).toHaveLength(1);
    // The preference lasts one attempt: the next call starts from the strategy again.
    await client.messages.create(params).catch(() => undefined);
    expect(keysSeen()[2]).toBe(K1);
  });

  it('every key revoked: NoUsableKeyError; then calls fail without sending anything', async () => {
    for (const k of KEYS) server.revokeKey(k);
    const { client, quarantined } = pooled();
    const first = await client.messages.create(params).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(NoUsableKeyError);
    expect((first as NoUsableKeyError).keys.map((k) => [k.alias, k.status])).toEqual([
      ['key-1', 401],
      ['key-2', 401],
      ['key-3', 401],
    ]);
    expect((first as NoUsableKeyError).retryAfterMs).toBeGreaterThan(0);
    expect(keysSeen()).toEqual([K1, K2, K3]);
    expect(quarantined.map((e) => e.alias)).toEqual(['key-1', 'key-2', 'key-3']);

    await expect(client.messages.create(params)).rejects.toBeInstanceOf(NoUsableKeyError);
    await expect(client.messages.create({ ...params, stream: true })).rejects.toBeInstanceOf(NoUsableKeyError);
    expect(keysSeen()).toHaveLength(3);
  });
});

describe('keys layer: the key never leaks', () => {
  it('no key text in any log line (ours and the SDK debug log), event payload or error', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const payloads: unknown[] = [];
    const { client } = pooled({}, { logger, logLevel: 'debug' }, { log: resolveLogging(logger).sink, onKeyQuarantined: (e) => payloads.push(e) });
    client.on('callComplete', (e) => payloads.push(e));
    client.on('retry', (e) => payloads.push(e));

    server.revokeKey(K2);
    server.inject(faults.overloaded(), { match: (r) => r.apiKey === K3, times: 1 });
    for (let i = 0; i < 4; i++) await client.messages.create(params);
    await client.messages.stream(params).finalMessage();
    server.revokeKey(K1);
    server.revokeKey(K3);
    const errors: unknown[] = [];
    errors.push(await client.messages.create(params).catch((e: unknown) => e));
    errors.push(await client.messages.create(params).catch((e: unknown) => e));
    expect(errors.every((e) => e instanceof NoUsableKeyError)).toBe(true);

    expect(lines.some((l) => l.includes('"keyAlias":"key-2"') && l.includes('quarantined'))).toBe(true);
    expect(lines.some((l) => l.includes('sending request'))).toBe(true); // the SDK's debug lines are in
    expect(payloads.length).toBeGreaterThan(5);
    const everything = [
      ...lines,
      ...payloads.map((p) => JSON.stringify(p)),
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack ?? ''}`),
    ].join('\n');
    for (const key of [...KEYS, DEFAULT_KEY]) expect(everything).not.toContain(key);
  });
});
