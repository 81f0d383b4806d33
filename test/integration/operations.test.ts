/**
 * Operations, end to end: the client's own Prometheus registry after a faulty run (checked against the
 * fake server's ledger), health transitions served by `createHealthHandler` on a real `node:http` server,
 * the active `countTokens` probe, and the API-key pool against a fake server that knows its keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/errors/budget-exceeded-error';
import { CircuitOpenError } from '../../src/errors/circuit-open-error';
import { NoUsableKeyError } from '../../src/errors/no-usable-key-error';
import type { KeyQuarantinedEvent } from '../../src/events';
import { createHealthHandler } from '../../src/health/index';
import type { ResilientClaude } from '../../src/client';
import type { ResilientClaudeOptions } from '../../src/options';
import { faults } from '../../src/testing';
import { MODEL, messageRecords, parseExposition, runBurst, sleep, startEnv, sumOf, userParams, waitUntil, type Env } from './support';

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** Mounts `createHealthHandler(client, { metrics: true })` on a node:http server; returns a GET helper. */
async function mount(client: ResilientClaude) {
  const http: Server = createServer(createHealthHandler(client, { metrics: true }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  env!.onClose(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const { port } = http.address() as { port: number };
  return async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
}

describe('metrics after a faulty run', () => {
  it('the named series are present, with values consistent with the server ledger (scraped over HTTP)', async () => {
    env = await startEnv();
    const server = env.server;
    const client = env.client({ maxRetries: 2 });
    const get = await mount(client);
    let calls = 0;
    let ok = 0;
    const run = async (fn: () => Promise<unknown>) => {
      calls++;
      try {
        await fn();
        ok++;
      } catch {
        // counted below
      }
    };
    for (let i = 0; i < 6; i++) await run(() => client.messages.create(userParams(`plain ${i}`)));
    await run(() => client.messages.stream(userParams('streamed')).finalMessage());
    server.schedule(faults.overloaded(), 'ok');
    await run(() => client.messages.create(userParams('overloaded once')));
    server.schedule(faults.reset(), faults.serverError(502), 'ok');
    await run(() => client.messages.create(userParams('reset then 502')));
    server.schedule(faults.serverError(500), faults.serverError(500), faults.serverError(500));
    await run(() => client.messages.create(userParams('500 three times')));
    server.schedule(faults.badRequest('no'));
    await run(() => client.messages.create(userParams('bad request')));
    server.schedule(faults.rateLimited({ retryAfterMs: 5 }));
    await run(() => client.messages.create({ ...userParams('429 once'), model: 'claude-haiku-4-5' }));
    expect(calls).toBe(12);
    expect(ok).toBe(10);

    const scrape = await get('/metrics');
    expect(scrape.status).toBe(200);
    const m = parseExposition(scrape.text);
    const sent = messageRecords(server);
    const stats = server.stats();

    // Every series the issue names exists (breaker transitions: see the next test, none happened here).
    for (const name of [
      'anthropic_requests_total',
      'anthropic_calls_total',
      'anthropic_request_latency_seconds_count',
      'anthropic_attempts_total',
      'anthropic_retries_total',
      'anthropic_tokens_total',
      'anthropic_cost_usd_total',
      'anthropic_ratelimit_wait_seconds_count',
      'anthropic_active_requests',
      'anthropic_breaker_state',
    ]) {
      expect(m.some((s) => s.name === name), name).toBe(true);
    }
    // Logical calls, by final status.
    expect(sumOf(m, 'anthropic_requests_total')).toBe(calls);
    expect(sumOf(m, 'anthropic_requests_total', { status: '200' })).toBe(stats.servedResponses);
    expect(sumOf(m, 'anthropic_requests_total', { status: '500' })).toBe(1);
    expect(sumOf(m, 'anthropic_requests_total', { status: '400' })).toBe(1);
    expect(sumOf(m, 'anthropic_requests_total', { model: 'claude-haiku-4-5', status: '200' })).toBe(1);
    expect(sumOf(m, 'anthropic_calls_total', { outcome: 'success' })).toBe(ok);
    expect(sumOf(m, 'anthropic_request_latency_seconds_count')).toBe(calls);
    // Every HTTP attempt reached the server: attempts = ledger requests; retries = attempts − calls.
    expect(sumOf(m, 'anthropic_attempts_total')).toBe(sent.length);
    expect(sumOf(m, 'anthropic_retries_total')).toBe(sent.length - calls);
    expect(sumOf(m, 'anthropic_retries_total', { reason: 'overloaded' })).toBe(1);
    expect(sumOf(m, 'anthropic_retries_total', { reason: 'connection' })).toBe(1);
    expect(sumOf(m, 'anthropic_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(sumOf(m, 'anthropic_retries_total', { reason: 'server_error' })).toBe(3); // 502 once, 500 twice
    // Tokens: exactly what the server served.
    expect(sumOf(m, 'anthropic_tokens_total', { type: 'input' })).toBe(stats.served.inputTokens);
    expect(sumOf(m, 'anthropic_tokens_total', { type: 'output' })).toBe(stats.served.outputTokens);
    expect(sumOf(m, 'anthropic_cost_usd_total')).toBeCloseTo(client.costs!.summary().totalUsd, 12);
    expect(sumOf(m, 'anthropic_breaker_state', { scope: 'default' })).toBe(0);
    expect(sumOf(m, 'anthropic_active_requests')).toBe(0);
    // Label values are bounded: no user ids, request ids or keys.
    const requestIds = new Set(sent.map((r) => r.requestId));
    for (const s of m) for (const v of Object.values(s.labels)) expect(requestIds.has(v)).toBe(false);
    // The in-process registry is the same one.
    expect(parseExposition(await client.metrics!.metrics()).filter((s) => s.name === 'anthropic_requests_total')).toEqual(
      m.filter((s) => s.name === 'anthropic_requests_total'),
    );
  });

  it('label cardinality stays bounded after calls from 1,000 users', async () => {
    env = await startEnv();
    const client = env.client();
    const users = Array.from({ length: 1_000 }, (_, i) => `user-${i}-${randomUUID()}`);
    const run = await runBurst((i) => client.messages.create({ ...userParams('hi'), metadata: { user_id: users[i]! } }), {
      calls: users.length,
      concurrency: 16,
      capMs: 30_000,
    });
    expect(run.ok).toBe(1_000);
    const text = await client.metrics!.metrics();
    const m = parseExposition(text);
    for (const user of users.slice(0, 50)) expect(text).not.toContain(user);
    expect(text).not.toContain('user-999-');
    // A handful of series, independent of the number of users.
    expect(m.length).toBeLessThan(120);
    expect(sumOf(m, 'anthropic_requests_total', { status: '200' })).toBe(1_000);
    expect(client.costs!.summary().byUser[users[0]!]?.requests).toBe(1); // users are in the ledger, not in metrics
  }, 30_000);

  it('breaker state and transitions appear in the metrics when the breaker opens', async () => {
    env = await startEnv();
    const client = env.client({ retry: false, circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 60_000, whenOpen: 'fail' } });
    env.server.outage(faults.unavailable());
    for (let i = 0; i < 5; i++) await client.messages.create(userParams(`down ${i}`)).catch(() => undefined);
    const m = parseExposition(await client.metrics!.metrics());
    expect(sumOf(m, 'anthropic_breaker_state', { scope: 'default' })).toBe(2);
    expect(sumOf(m, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'open' })).toBe(1);
    expect(sumOf(m, 'anthropic_requests_total', { status: 'CircuitOpenError' })).toBe(5 - messageRecords(env.server).length);
  });
});

describe('health transitions over node:http', () => {
  it('ready → 503 with reasons when the breaker opens → ready again after half-open and a good probe', async () => {
    env = await startEnv();
    const client = env.client({ retry: false, circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 300, whenOpen: 'fail' } });
    const get = await mount(client);
    await client.messages.create(userParams('warm up'));
    expect((await get('/health/ready')).status).toBe(200);
    expect((await get('/health/ready')).json()).toEqual({ ready: true, reasons: [] });

    const outage = env.server.outage(faults.unavailable());
    const errors: unknown[] = [];
    for (let i = 0; i < 8; i++) await client.messages.create(userParams(`down ${i}`)).catch((e: unknown) => errors.push(e));
    expect(errors.some((e) => e instanceof CircuitOpenError)).toBe(true);
    const notReady = await get('/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, reasons: ['every circuit breaker is open'] });
    const snapshot = await get('/health');
    expect(snapshot.status).toBe(200);
    expect(snapshot.json()).toMatchObject({ ready: false, breakers: { default: { state: 'open' } }, lastError: { errorClass: 'CircuitOpenError' } });
    expect((await get('/health/live')).status).toBe(200);
    expect(parseExposition((await get('/metrics')).text).find((s) => s.name === 'anthropic_breaker_state')?.value).toBe(2);

    outage.end();
    // Once a probe is due the instance reports ready again (or a load balancer would never send the probe).
    expect(await waitUntil(() => client.health().breakers['default']?.retryAfterMs === 0, 5_000)).toBe(true);
    expect((await get('/health/ready')).status).toBe(200);
    await expect(client.messages.create(userParams('good probe'))).resolves.toMatchObject({ type: 'message' });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ ready: true, reasons: [] });
    expect(client.health().breakers['default']?.state).toBe('closed');
  });

  it('ready → 503 when the budget runs out (calls refused) → ready again when its window resets', async () => {
    env = await startEnv();
    const windowMs = 4_000;
    // Start early in a budget window, so that it cannot reset between running out and the check.
    const intoWindow = Date.now() % windowMs;
    if (intoWindow > 500) await sleep(windowMs - intoWindow + 20);
    const client = env.client({ cost: { budget: { limitUsd: 0.004, window: windowMs } } });
    const get = await mount(client);
    expect((await get('/health/ready')).status).toBe(200);
    let refused: unknown;
    let served = 0;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      await client.messages
        .create(userParams(`spend ${i}`))
        .then(() => served++)
        .catch((e: unknown) => (refused = e));
    }
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect(served).toBeGreaterThan(0);
    const budget = client.health().budget!;
    console.info(`[health budget] refused after ${served} calls; remaining $${budget.remainingUsd.toFixed(6)} of $${budget.limitUsd}, next call needs $${(refused as BudgetExceededError).requestedUsd.toFixed(6)}`);
    // The client refuses every call now: it is not ready to serve them.
    const notReady = await get('/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, reasons: ['the budget is exhausted until the window resets'] });

    expect(await waitUntil(() => Date.now() >= budget.windowResetAt + 10, windowMs + 1_000)).toBe(true);
    expect((await get('/health/ready')).status).toBe(200);
    await expect(client.messages.create(userParams('new window'))).resolves.toMatchObject({ type: 'message' });
  });

  it('healthProbe (countTokens, free): not ready while count_tokens is in outage, ready again after', async () => {
    env = await startEnv();
    const client = env.client({ healthProbe: { intervalMs: 1_000 } });
    const get = await mount(client);
    expect(await waitUntil(() => client.health().probe?.ok === true, 3_000)).toBe(true);
    expect((await get('/health/ready')).status).toBe(200);

    const fault = env.server.inject(faults.unavailable(), { paths: ['/v1/messages/count_tokens'] });
    expect(await waitUntil(() => client.health().probe?.ok === false, 4_000)).toBe(true);
    const notReady = await get('/health/ready');
    expect(notReady.status).toBe(503);
    const body = notReady.json() as { ready: boolean; reasons: string[] };
    expect(body.ready).toBe(false);
    expect(body.reasons).toHaveLength(1);
    expect(body.reasons[0]).toMatch(/^the health probe failed/);
    // Only the probe's endpoint is down: paid calls still work meanwhile.
    await expect(client.messages.create(userParams('still fine'))).resolves.toMatchObject({ type: 'message' });

    fault.remove();
    expect(await waitUntil(() => client.health().probe?.ok === true, 4_000)).toBe(true);
    expect((await get('/health/ready')).json()).toEqual({ ready: true, reasons: [] });
    // The probe used count_tokens, never a paid message.
    const probes = env.server.ledger.filter((r) => r.path === '/v1/messages/count_tokens');
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(messageRecords(env.server).map((r) => (r.body as { messages: { content: string }[] }).messages[0]!.content)).toEqual(['still fine']);
  });
});

describe('API key pool', () => {
  const keys = () => ['alpha', 'beta', 'gamma'].map((alias) => ({ alias, key: `sk-ant-api03-${randomUUID()}-${alias}` }));

  async function pool(strategy: ResilientClaudeOptions['keyStrategy'], extra: ResilientClaudeOptions = {}, serverLatency?: number) {
    const entries = keys();
    env = await startEnv({ apiKeys: entries.map((e) => e.key), ...(serverLatency ? { latency: { headersMs: serverLatency } } : {}) });
    const client = env.client({ apiKey: undefined, apiKeys: entries, keyStrategy: strategy, ...extra });
    const aliasOf = new Map(entries.map((e) => [e.key, e.alias]));
    const used = () => messageRecords(env!.server).map((r) => aliasOf.get(r.apiKey ?? '') ?? '?');
    return { entries, client, used };
  }

  const count = (list: string[]) => Object.fromEntries(['alpha', 'beta', 'gamma'].map((a) => [a, list.filter((x) => x === a).length]));

  it('round_robin: an exact rotation', async () => {
    const { client, used } = await pool('round_robin');
    for (let i = 0; i < 30; i++) await client.messages.create(userParams(`rr ${i}`));
    expect(used().slice(0, 6)).toEqual(['alpha', 'beta', 'gamma', 'alpha', 'beta', 'gamma']);
    expect(count(used())).toEqual({ alpha: 10, beta: 10, gamma: 10 });
    expect(client.keys!.snapshot().map((k) => k.requests)).toEqual([10, 10, 10]);
  });

  it('random: every key used, shares near 1/3, not a rotation', async () => {
    const { client, used } = await pool('random');
    for (let i = 0; i < 90; i++) await client.messages.create(userParams(`random ${i}`));
    const counts = count(used());
    for (const n of Object.values(counts)) {
      expect(n).toBeGreaterThanOrEqual(10); // Bin(90, 1/3): mean 30, sd 4.5; < 10 has p ≈ 4e-6
      expect(n).toBeLessThanOrEqual(50);
    }
    expect(counts.alpha! + counts.beta! + counts.gamma!).toBe(90);
    const rotation = used().every((a, i) => a === ['alpha', 'beta', 'gamma'][i % 3]);
    expect(rotation).toBe(false);
  });

  it('least_loaded: balances in-flight requests, and sends less to a slow key than round_robin does', async () => {
    const balanced = await pool('least_loaded', {}, 60);
    await Promise.all(Array.from({ length: 9 }, (_, i) => balanced.client.messages.create(userParams(`ll ${i}`))));
    expect(count(balanced.used())).toEqual({ alpha: 3, beta: 3, gamma: 3 });
    await env!.close();

    const slowAlpha = async (strategy: 'least_loaded' | 'round_robin') => {
      const p = await pool(strategy);
      const slowKey = p.entries[0]!.key;
      env!.server.inject(faults.slowHeaders(300), { match: (r) => r.apiKey === slowKey });
      const run = await runBurst((i) => p.client.messages.create(userParams(`slow ${i}`)), { calls: 30, concurrency: 6, capMs: 20_000 });
      expect(run.errors).toEqual([]);
      const counts = count(p.used());
      await env!.close();
      env = undefined;
      return counts;
    };
    const leastLoaded = await slowAlpha('least_loaded');
    const roundRobin = await slowAlpha('round_robin');
    console.info(`[keys] slow alpha: least_loaded ${JSON.stringify(leastLoaded)}, round_robin ${JSON.stringify(roundRobin)}`);
    expect(roundRobin).toEqual({ alpha: 10, beta: 10, gamma: 10 });
    expect(leastLoaded.alpha).toBeLessThan(10);
    expect(leastLoaded.beta! + leastLoaded.gamma!).toBeGreaterThan(20);
  });

  it('a revoked key is quarantined and calls succeed on the others; no key value in any log, event, metric or health', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const { entries, client, used } = await pool('round_robin', { logger, logLevel: 'debug' });
    const events: KeyQuarantinedEvent[] = [];
    const payloads: string[] = [];
    client.on('keyQuarantined', (e) => events.push(e));
    for (const name of ['callComplete', 'retry', 'keyQuarantined', 'rateLimited', 'cost'] as const) {
      client.on(name, ((p: unknown) => payloads.push(JSON.stringify(p))) as never);
    }
    for (let i = 0; i < 3; i++) await client.messages.create(userParams(`before ${i}`));
    env!.server.revokeKey(entries[1]!.key);
    for (let i = 0; i < 12; i++) await expect(client.messages.create(userParams(`after ${i}`))).resolves.toMatchObject({ type: 'message' });

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ alias: 'beta', status: 401, reason: 'authentication_error' });
    const snapshot = client.keys!.snapshot();
    expect(snapshot.find((k) => k.alias === 'beta')).toMatchObject({ quarantined: true, status: 401 });
    expect(snapshot.filter((k) => k.quarantined)).toHaveLength(1);
    expect(client.health().keys?.find((k) => k.alias === 'beta')).toMatchObject({ quarantined: true });
    expect(client.health().ready).toBe(true);
    const sequence = used();
    expect(env!.server.ledger.filter((r) => r.status === 401)).toHaveLength(1);
    const firstFailure = env!.server.ledger.findIndex((r) => r.status === 401);
    expect(sequence.slice(firstFailure + 1)).not.toContain('beta');
    const after = count(sequence.slice(firstFailure + 1));
    expect(after.alpha).toBeGreaterThanOrEqual(5); // the traffic moved to the two good keys, evenly
    expect(after.gamma).toBeGreaterThanOrEqual(5);
    const metricsText = await client.metrics!.metrics();
    expect(sumOf(parseExposition(metricsText), 'anthropic_key_calls_total', { key_alias: 'alpha' })).toBeGreaterThan(0);

    const haystack = [...lines, ...payloads, metricsText, JSON.stringify(client.health()), JSON.stringify(snapshot)].join('\n');
    expect(lines.length).toBeGreaterThan(20);
    expect(haystack).toContain('beta');
    for (const { key } of entries) {
      expect(haystack.includes(key), 'full key').toBe(false);
      expect(haystack.includes(key.slice(13, 49)), 'key body').toBe(false);
    }
  });

  it('all keys revoked → NoUsableKeyError; afterwards nothing is sent and health says why', async () => {
    const { entries, client } = await pool('round_robin');
    await client.messages.create(userParams('works'));
    for (const { key } of entries) env!.server.revokeKey(key);
    const first = await client.messages.create(userParams('every key fails')).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(NoUsableKeyError);
    expect((first as NoUsableKeyError).keys.map((k) => k.alias)).toEqual(['alpha', 'beta', 'gamma']);
    const sentBefore = env!.server.ledger.length;
    expect(env!.server.ledger.filter((r) => r.status === 401)).toHaveLength(3);
    const again = await client.messages.create(userParams('again')).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(NoUsableKeyError);
    expect(env!.server.ledger.length).toBe(sentBefore);
    for (const { key } of entries) expect(String((again as Error).message)).not.toContain(key);
    expect(client.health()).toMatchObject({ ready: false, reasons: ['every API key is quarantined'] });
    expect(client.health().rateLimit[MODEL]?.inFlight ?? 0).toBe(0);
  });
});
