import { BadRequestError, RateLimitError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../src/errors/circuit-open-error';
import type { BreakerStateChangeEvent } from '../src/events';
import { faults } from '../src/testing';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

const breaker = { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 400, rollingWindowMs: 10_000 };

describe('circuit breaker', () => {
  it('opens after the threshold; while open no request leaves the process', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    const changes: BreakerStateChangeEvent[] = [];
    client.on('breakerStateChange', (e) => changes.push(e));
    const outage = env.server.outage(faults.unavailable());

    const errors: unknown[] = [];
    for (let i = 0; i < 8; i++) errors.push(await client.messages.create(params).catch((e: unknown) => e));
    const sentWhileFailing = messageRequests(env.server).length;
    expect(sentWhileFailing).toBeLessThan(8);
    expect(errors.filter((e) => e instanceof CircuitOpenError).length).toBe(8 - sentWhileFailing);
    expect(changes[0]).toMatchObject({ scope: 'default', from: 'closed', to: 'open' });

    const open = errors.find((e) => e instanceof CircuitOpenError) as CircuitOpenError;
    expect(open.retryAfterMs).toBeGreaterThan(0);
    expect(open.retryAfterMs).toBeLessThanOrEqual(400);
    expect(client.health()).toMatchObject({ ready: false, breakers: { default: { state: 'open' } } });

    // More calls while open: nothing is sent.
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(messageRequests(env.server)).toHaveLength(sentWhileFailing);
    outage.end();
  });

  it('half-opens after the reset timeout, and one good probe closes it', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    const changes: string[] = [];
    client.on('breakerStateChange', (e) => changes.push(e.to));
    const outage = env.server.outage(faults.overloaded());
    for (let i = 0; i < 6; i++) await client.messages.create(params).catch(() => undefined);
    expect(client.health().breakers.default?.state).toBe('open');
    outage.end();

    await expect.poll(() => client.health().breakers.default?.state, { timeout: 5_000 }).toBe('halfOpen');
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(client.health().breakers.default?.state).toBe('closed');
    expect(changes).toEqual(['open', 'halfOpen', 'closed']);
    expect(client.health().ready).toBe(true);
  });

  it('a failed probe opens it again', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    env.server.outage(faults.serverError(500));
    for (let i = 0; i < 6; i++) await client.messages.create(params).catch(() => undefined);
    await expect.poll(() => client.health().breakers.default?.state, { timeout: 5_000 }).toBe('halfOpen');
    await expect(client.messages.create(params)).rejects.toMatchObject({ status: 500 });
    expect(client.health().breakers.default?.state).toBe('open');
  });

  it('does not open on 4xx or 429: they say nothing about the service health', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    env.server.outage(faults.badRequest('nope'));
    for (let i = 0; i < 8; i++) await expect(client.messages.create(params)).rejects.toBeInstanceOf(BadRequestError);
    env.server.clearFaults();
    env.server.outage(faults.rateLimited({ retryAfterMs: 1 }));
    for (let i = 0; i < 8; i++) await expect(client.messages.create(params)).rejects.toBeInstanceOf(RateLimitError);
    expect(client.health().breakers.default?.state).toBe('closed');
    expect(messageRequests(env.server)).toHaveLength(16);
  });

  it('connection failures count as health failures', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    env.server.outage(faults.reset());
    for (let i = 0; i < 6; i++) await client.messages.create(params).catch(() => undefined);
    expect(client.health().breakers.default?.state).toBe('open');
  });

  it('a retried call stops at once when the breaker opens mid-call', async () => {
    const client = env.client({ maxRetries: 10, circuitBreaker: breaker });
    env.server.outage(faults.overloaded());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
    // The breaker opened after the volume threshold; the remaining retries were refused locally.
    expect(messageRequests(env.server).length).toBeLessThanOrEqual(breaker.volumeThreshold + 1);
  });

  it('withOptions() clones share the parent breaker', async () => {
    const client = env.client({ retry: false, circuitBreaker: breaker });
    const clone = client.withOptions({ timeout: 5_000 });
    env.server.outage(faults.overloaded());
    for (let i = 0; i < 6; i++) await client.messages.create(params).catch(() => undefined);
    await expect(clone.messages.create(params)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('per-model scope keeps one model failing from blocking another', async () => {
    const client = env.client({ retry: false, circuitBreaker: { ...breaker, scope: 'model' } });
    const down = 'claude-opus-4-7';
    env.server.inject(faults.overloaded(), { match: (r) => r.model === down });
    for (let i = 0; i < 6; i++) await client.messages.create({ ...params, model: down }).catch(() => undefined);
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
