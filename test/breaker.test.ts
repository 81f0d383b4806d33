import { APIUserAbortError, BadRequestError, RateLimitError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../src/errors/circuit-open-error';
import { DeadlineExceededError } from '../src/errors/deadline-exceeded-error';
import type { BreakerStateChangeEvent } from '../src/events';
import type { BreakerOptions } from '../src/options';
import { faults } from '../src/testing';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

/** Opens after 4 failed attempts (of at least 4), probes after 400 ms, fails fast while open. */
const failFast: BreakerOptions = { minimumAttempts: 4, probeAfterMs: 400, maxProbeAfterMs: 400, whenOpen: 'fail' };

describe('circuit breaker', () => {
  it('opens after minimumAttempts of total failure; while open no request leaves the process', async () => {
    const client = env.client({ retry: false, circuitBreaker: failFast });
    const changes: BreakerStateChangeEvent[] = [];
    client.on('breakerStateChange', (e) => changes.push(e));
    const outage = env.server.outage(faults.unavailable());

    const errors: unknown[] = [];
    for (let i = 0; i < 8; i++) errors.push(await client.messages.create(params).catch((e: unknown) => e));
    expect(messageRequests(env.server)).toHaveLength(4);
    expect(errors.filter((e) => e instanceof CircuitOpenError)).toHaveLength(4);
    expect(changes[0]).toMatchObject({ scope: 'default', from: 'closed', to: 'open', retryAfterMs: 400 });

    const open = errors.find((e) => e instanceof CircuitOpenError) as CircuitOpenError;
    expect(open.retryAfterMs).toBeGreaterThan(0);
    expect(open.retryAfterMs).toBeLessThanOrEqual(400);
    expect(client.health()).toMatchObject({ ready: false, breakers: { default: { state: 'open' } } });
    outage.end();
  });

  it('after probeAfterMs one call probes; its success closes the breaker', async () => {
    const client = env.client({ retry: false, circuitBreaker: failFast });
    const changes: string[] = [];
    client.on('breakerStateChange', (e) => changes.push(e.to));
    const outage = env.server.outage(faults.overloaded());
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);
    expect(client.health().breakers.default?.state).toBe('open');
    outage.end();

    await expect(client.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
    await new Promise((r) => setTimeout(r, 450));
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(client.health().breakers.default?.state).toBe('closed');
    expect(changes).toEqual(['open', 'halfOpen', 'closed']);
    expect(client.health().ready).toBe(true);
  });

  it('a failed probe opens it again, with the pause doubled', async () => {
    const client = env.client({ retry: false, circuitBreaker: { ...failFast, maxProbeAfterMs: 5_000 } });
    env.server.outage(faults.serverError(500));
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 450));
    await expect(client.messages.create(params)).rejects.toMatchObject({ status: 500 });
    expect(client.health().breakers.default).toMatchObject({ state: 'open' });
    expect(client.health().breakers.default?.retryAfterMs).toBeGreaterThan(400);
  });

  it('by default an outage becomes latency: calls wait for the probe and succeed once the service is back', async () => {
    // Retries on (2): a call that happens to be a failed probe retries, and waits again.
    const client = env.client({ circuitBreaker: { minimumAttempts: 4, probeAfterMs: 100, maxProbeAfterMs: 200 } });
    const outage = env.server.outage(faults.overloaded());
    for (let i = 0; i < 2; i++) await client.messages.create(params).catch(() => undefined);
    expect(client.health().breakers.default?.state).toBe('open');

    const started = performance.now();
    const held = Array.from({ length: 10 }, () => client.messages.create(params));
    await new Promise((r) => setTimeout(r, 700));
    const sentDuringOutage = messageRequests(env.server).length - 4; // the first 4 attempts opened it
    outage.end();
    const results = await Promise.all(held);
    expect(results.every((m) => m.type === 'message')).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    // Only probes reached the dead server: at most one per 100–200 ms pause.
    expect(sentDuringOutage).toBeGreaterThanOrEqual(1);
    expect(sentDuringOutage).toBeLessThanOrEqual(5);
    expect(client.health().breakers.default?.state).toBe('closed');
  });

  it('a waiting call is bounded by maxWaitMs, its deadline and its abort signal', async () => {
    const client = env.client({
      retry: false,
      circuitBreaker: { minimumAttempts: 4, probeAfterMs: 5_000, maxProbeAfterMs: 5_000, maxWaitMs: 150 },
    });
    env.server.outage(faults.overloaded());
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);

    const waited = performance.now();
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(performance.now() - waited).toBeGreaterThanOrEqual(140);

    // A deadline shorter than the time to the next probe: no point waiting.
    const deadline = client.withOptions({ deadline: 100 });
    await expect(deadline.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);

    const patient = client.withOptions({ circuitBreaker: { minimumAttempts: 4, probeAfterMs: 5_000, maxWaitMs: 60_000 } });
    for (let i = 0; i < 4; i++) await patient.messages.create(params).catch(() => undefined);
    const controller = new AbortController();
    const pending = patient.messages.create(params, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    expect(messageRequests(env.server)).toHaveLength(8);
  });

  it('a deadline that ends while the call waits gives DeadlineExceededError', async () => {
    const client = env.client({ retry: false, circuitBreaker: { minimumAttempts: 4, probeAfterMs: 300, maxProbeAfterMs: 1_000 } });
    env.server.outage(faults.overloaded());
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);
    // Both wait; the first probes at ~300 ms and fails, the next probe is ~600 ms later: the 500 ms deadline
    // of the second ends while it waits.
    const probe = client.messages.create(params);
    const late = client.withOptions({ deadline: 500 }).messages.create(params);
    await expect(probe).rejects.toMatchObject({ status: 529 });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(messageRequests(env.server)).toHaveLength(5);
  });

  it('does not open on 4xx or 429: they say nothing about the service health', async () => {
    const client = env.client({ retry: false, circuitBreaker: failFast });
    env.server.outage(faults.badRequest('nope'));
    for (let i = 0; i < 8; i++) await expect(client.messages.create(params)).rejects.toBeInstanceOf(BadRequestError);
    env.server.clearFaults();
    env.server.outage(faults.rateLimited({ retryAfterMs: 1 }));
    for (let i = 0; i < 8; i++) await expect(client.messages.create(params)).rejects.toBeInstanceOf(RateLimitError);
    expect(client.health().breakers.default?.state).toBe('closed');
    expect(messageRequests(env.server)).toHaveLength(16);
  });

  it('connection failures and streams that fail before content count as health failures', async () => {
    const client = env.client({ retry: false, circuitBreaker: failFast });
    env.server.outage(faults.reset());
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);
    expect(client.health().breakers.default?.state).toBe('open');

    const streams = env.client({ retry: false, circuitBreaker: failFast });
    env.server.clearFaults();
    env.server.outage(faults.sseError(0, 'overloaded_error'));
    for (let i = 0; i < 4; i++) {
      await streams.messages
        .stream(params)
        .finalMessage()
        .catch(() => undefined);
    }
    expect(streams.health().breakers.default?.state).toBe('open');
  });

  it('never opens on scattered faults: 30 % random 5xx/529/resets over 300 calls', async () => {
    const client = env.client({ maxRetries: 2 });
    const changes: string[] = [];
    client.on('breakerStateChange', (e) => changes.push(e.to));
    env.server.inject(faults.overloaded(), { probability: 0.1 });
    env.server.inject(faults.serverError(500), { probability: 0.1 / 0.9 });
    env.server.inject(faults.reset(), { probability: 0.1 / 0.8 });
    let ok = 0;
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.allSettled(Array.from({ length: 30 }, () => client.messages.create(params)));
      ok += results.filter((r) => r.status === 'fulfilled').length;
    }
    expect(changes).toEqual([]);
    expect(ok).toBeGreaterThan(280);
  });

  it('a retried call stops at once when the breaker opens mid-call (whenOpen: fail)', async () => {
    const client = env.client({ maxRetries: 10, circuitBreaker: failFast });
    env.server.outage(faults.overloaded());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(messageRequests(env.server)).toHaveLength(4);
  });

  it('withOptions() clones share the parent breaker', async () => {
    const client = env.client({ retry: false, circuitBreaker: failFast });
    const clone = client.withOptions({ timeout: 5_000 });
    env.server.outage(faults.overloaded());
    for (let i = 0; i < 4; i++) await client.messages.create(params).catch(() => undefined);
    await expect(clone.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('per-model scope keeps one model failing from blocking another', async () => {
    const client = env.client({ retry: false, circuitBreaker: { ...failFast, scope: 'model' } });
    const down = 'claude-opus-4-7';
    env.server.inject(faults.overloaded(), { match: (r) => r.model === down });
    for (let i = 0; i < 4; i++) await client.messages.create({ ...params, model: down }).catch(() => undefined);
    await expect(client.messages.create({ ...params, model: down })).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(client.health().breakers).toMatchObject({ [down]: { state: 'open' }, 'claude-sonnet-4-6': { state: 'closed' } });
  });

  it('circuitBreaker: false never refuses', async () => {
    const client = env.client({ retry: false, circuitBreaker: false });
    env.server.outage(faults.overloaded());
    for (let i = 0; i < 12; i++) await client.messages.create(params).catch(() => undefined);
    expect(messageRequests(env.server)).toHaveLength(12);
  });
});
