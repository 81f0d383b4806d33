import { BadRequestError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResilientClaude } from '../../src/client';
import { CircuitOpenError } from '../../src/errors/circuit-open-error';
import type { RetryEvent } from '../../src/events';
import { createHealthHandler } from '../../src/health/index';
import { ClientMetrics } from '../../src/metrics/index';
import { faults } from '../../src/testing';
import { messageRequests, params, startServer } from '../helpers/setup';
import { labelSets, listen, parseExposition, select, sum, value, type Exposition } from './exposition';

let env: Awaited<ReturnType<typeof startServer>>;
const closers: Array<() => Promise<void>> = [];
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await env.close();
});

/** Subscribes `metrics` to the client's events, as the lead's wiring will. */
function wire(client: ResilientClaude, metrics: ClientMetrics): void {
  client.on('callComplete', (r) => metrics.onCallComplete(r));
  client.on('retry', (e) => metrics.onRetry(e));
  client.on('breakerStateChange', (e) => metrics.onBreakerStateChange(e));
  metrics.setCollectors({ breakers: () => client.health().breakers });
}

/** Serves the registry with the health handler on node:http and scrapes `/metrics` over real HTTP. */
async function scrape(metrics: ClientMetrics): Promise<{ exp: Exposition; text: string; contentType: string | null }> {
  const http = await listen(createHealthHandler({ health: () => ({ ready: true, reasons: [] }), metrics: metrics.registry }, { metrics: true }));
  closers.push(http.close);
  const res = await fetch(`${http.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { exp: parseExposition(text), text, contentType: res.headers.get('content-type') };
}

const model = params.model;

describe('metrics over a real scrape, consistent with the fake server', () => {
  it('after 529s, a reset and a 400: attempts, retries, tokens, statuses and outcomes add up', async () => {
    // The breaker stays closed (volume threshold above the run), so every attempt reaches the server.
    const client = env.client({ circuitBreaker: { sampleSize: 100, minimumAttempts: 100 } });
    const metrics = new ClientMetrics();
    wire(client, metrics);
    const retries: RetryEvent[] = [];
    client.on('retry', (e) => retries.push(e));

    env.server.schedule(faults.overloaded(), faults.overloaded(), 'ok', faults.reset(), 'ok', faults.badRequest('no'), 'ok');
    await client.messages.create(params); // 529, 529, ok
    await client.messages.create(params); // reset, ok
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(BadRequestError); // 400, not retried
    const stream = client.messages.stream(params); // ok, streamed
    await stream.finalMessage();
    await client.messages.create(params); // ok (schedule exhausted)
    // A stream's record completes when its body ends; wait for all five records.
    await expect.poll(async () => sum((await scrape(metrics)).exp, 'anthropic_calls_total')).toBe(5);

    const { exp, contentType } = await scrape(metrics);
    expect(contentType).toBe(metrics.registry.contentType);
    const sent = messageRequests(env.server).length;
    expect(sent).toBe(8);
    const stats = env.server.stats();

    // Attempts: the sum over calls equals the /v1/messages requests the server received.
    expect(sum(exp, 'anthropic_attempts_total')).toBe(sent);
    expect(value(exp, 'anthropic_attempts_total', { model, outcome: 'success' })).toBe(7);
    expect(value(exp, 'anthropic_attempts_total', { model, outcome: 'client_error' })).toBe(1);

    // Retries: one per retry event, by reason.
    expect(retries).toHaveLength(3);
    expect(sum(exp, 'anthropic_retries_total')).toBe(retries.length);
    expect(value(exp, 'anthropic_retries_total', { model, reason: 'overloaded' })).toBe(2);
    expect(value(exp, 'anthropic_retries_total', { model, reason: 'connection' })).toBe(1);

    // Tokens: exactly what the server served in full.
    expect(stats.servedResponses).toBe(4);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'output' })).toBe(stats.served.outputTokens);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'input' })).toBe(stats.served.inputTokens);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'cache_read' })).toBe(stats.served.cacheReadTokens);
    expect(stats.served.outputTokens).toBeGreaterThan(0);

    // Logical calls: by final status and by outcome.
    expect(value(exp, 'anthropic_requests_total', { model, status: '200' })).toBe(4);
    expect(value(exp, 'anthropic_requests_total', { model, status: '400' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'success' })).toBe(4);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'client_error' })).toBe(1);
    expect(value(exp, 'anthropic_request_latency_seconds_count', { model })).toBe(5);
    expect(value(exp, 'anthropic_request_latency_seconds_bucket', { model, le: '+Inf' })).toBe(5);
    expect(value(exp, 'anthropic_ratelimit_wait_seconds_count', { model })).toBe(5);

    // Breaker: read from the client at scrape time, closed; no transitions.
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(0);
    expect(select(exp, 'anthropic_breaker_transitions_total')).toHaveLength(0);
    // Every named series is declared.
    for (const name of [
      'anthropic_requests_total',
      'anthropic_request_latency_seconds',
      'anthropic_tokens_total',
      'anthropic_active_requests',
      'anthropic_attempts_total',
      'anthropic_retries_total',
      'anthropic_breaker_state',
      'anthropic_breaker_transitions_total',
      'anthropic_ratelimit_queue_depth',
      'anthropic_ratelimit_wait_seconds',
      'anthropic_ratelimit_remaining',
      'anthropic_cost_usd_total',
      'anthropic_budget_remaining_usd',
      'anthropic_calls_total',
    ]) {
      expect(exp.types.has(name), name).toBe(true);
    }
  });

  it('an outage opens the breaker: state, transition and locally refused calls are visible', async () => {
    const client = env.client({ retry: false, circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 60_000, whenOpen: 'fail' } });
    const metrics = new ClientMetrics();
    wire(client, metrics);
    env.server.outage(faults.overloaded());
    const errors: unknown[] = [];
    for (let i = 0; i < 6; i++) errors.push(await client.messages.create(params).catch((e: unknown) => e));
    const refused = errors.filter((e) => e instanceof CircuitOpenError).length;
    expect(refused).toBeGreaterThan(0);

    const { exp } = await scrape(metrics);
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(2);
    expect(value(exp, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'open' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'local' })).toBe(refused);
    expect(value(exp, 'anthropic_requests_total', { model, status: 'CircuitOpenError' })).toBe(refused);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'server_error' })).toBe(6 - refused);
    expect(value(exp, 'anthropic_requests_total', { model, status: '529' })).toBe(6 - refused);
    // Attempts of calls that reached the server equal the server's count.
    expect(value(exp, 'anthropic_attempts_total', { model, outcome: 'server_error' })).toBe(messageRequests(env.server).length);
    // A call the breaker refused sent nothing: it adds no attempts.
    const refusedAttempts = select(exp, 'anthropic_attempts_total', { model, outcome: 'local' }).reduce((n, s) => n + s.value, 0);
    expect(refusedAttempts).toBe(0);
  });
});

describe('label cardinality', () => {
  it('1,000 distinct users and 60 models: series stay bounded and no user id appears', async () => {
    const client = env.client({ circuitBreaker: false });
    const metrics = new ClientMetrics();
    wire(client, metrics);
    const users = Array.from({ length: 1_000 }, (_, i) => `user-${i}-${(i * 7919).toString(36)}-zq`);
    const models = Array.from({ length: 60 }, (_, i) => `claude-test-${i}`);
    const run = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        await Promise.all(
          users.slice(i, Math.min(i + 50, to)).map((user_id, j) =>
            client.messages.create({ ...params, model: models[(i + j) % models.length]!, metadata: { user_id } }),
          ),
        );
      }
    };

    await run(0, 500);
    const first = await scrape(metrics);
    await run(500, 1_000);
    const second = await scrape(metrics);

    // More users, same series: nothing grows with the user population.
    const sizes = (exp: Exposition) => new Map([...labelSets(exp)].map(([name, sets]) => [name, sets.size]));
    expect(sizes(second.exp)).toEqual(sizes(first.exp));
    expect(second.exp.samples.length).toBe(first.exp.samples.length);

    const sets = labelSets(second.exp);
    // 50 models kept as themselves, the other 10 folded into 'other'.
    expect(sets.get('anthropic_requests_total')?.size).toBe(51);
    expect(sets.get('anthropic_tokens_total')?.size).toBe(51 * 4);
    expect(new Set(select(second.exp, 'anthropic_calls_total').map((s) => s.labels.model)).size).toBe(51);
    for (const [name, labels] of sets) expect(labels.size, name).toBeLessThanOrEqual(51 * 4);
    expect(sum(second.exp, 'anthropic_calls_total')).toBe(1_000);
    // The first batch of 50 concurrent calls used models 0–49, so those took the 50 slots; calls i with
    // i % 60 >= 50 (16 cycles × 10) are counted under 'other'.
    expect(value(second.exp, 'anthropic_calls_total', { model: 'other', outcome: 'success' })).toBe(160);
    expect(value(second.exp, 'anthropic_calls_total', { model: 'claude-test-39', outcome: 'success' })).toBe(17);

    // No user id anywhere in the exposition (the ledger confirms the ids were sent).
    const sentUsers = new Set(messageRequests(env.server).map((r) => (r.body as { metadata?: { user_id?: string } }).metadata?.user_id));
    expect(sentUsers.size).toBe(1_000);
    for (const user of users) expect(second.text.includes(user), user).toBe(false);
    expect(second.text).not.toMatch(/user-\d+-/);
  });
});
