import { Registry, register as globalRegister } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, select, sum, value, type Exposition } from '../../test/metrics/exposition';
import { ConfigError } from '../errors/config-error';
import type { CallRecord } from '../events';
import { ClientMetrics } from './client-metrics';
import { callOutcome } from './labels';

function record(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: 'c1',
    method: 'post',
    path: '/v1/messages',
    stream: false,
    attempts: 1,
    ok: true,
    status: 200,
    latencyMs: 120,
    rateLimitWaitMs: 0,
    model: 'claude-sonnet-4-6',
    ...overrides,
  };
}

async function scrape(m: ClientMetrics): Promise<Exposition> {
  return parseExposition(await m.registry.metrics());
}

describe('ClientMetrics: construction', () => {
  it('uses its own registry by default, never the global one', async () => {
    const m = new ClientMetrics();
    expect(m.registry).not.toBe(globalRegister);
    expect(globalRegister.getSingleMetric('anthropic_requests_total')).toBeUndefined();
    const exp = await scrape(m);
    expect(exp.types.get('anthropic_requests_total')).toBe('counter');
    expect(exp.types.get('anthropic_request_latency_seconds')).toBe('histogram');
    expect(exp.types.get('anthropic_breaker_state')).toBe('gauge');
  });

  it('registers in a given registry with a prefix; a second instance on the same names throws ConfigError', () => {
    const registry = new Registry();
    const a = new ClientMetrics({ registry, prefix: 'llm_' });
    expect(registry.getSingleMetric('llm_calls_total')).toBeDefined();
    expect(() => new ClientMetrics({ registry, prefix: 'llm_' })).toThrow(ConfigError);
    // A failed construction leaves nothing half-registered; another prefix coexists.
    const b = new ClientMetrics({ registry, prefix: 'llm2_' });
    expect(b.registry).toBe(registry);
    a.unregister();
    expect(registry.getSingleMetric('llm_calls_total')).toBeUndefined();
    expect(() => new ClientMetrics({ registry, prefix: 'llm_' })).not.toThrow();
  });

  it('validates its options', () => {
    expect(() => new ClientMetrics({ prefix: 'bad-prefix' })).toThrow(ConfigError);
    expect(() => new ClientMetrics({ buckets: [] })).toThrow(ConfigError);
    expect(() => new ClientMetrics({ buckets: [0, 1] })).toThrow(ConfigError);
    expect(() => new ClientMetrics({ buckets: [1, Number.NaN] })).toThrow(ConfigError);
    expect(() => new ClientMetrics({ waitBuckets: [-1] })).toThrow(ConfigError);
    expect(() => new ClientMetrics({ labelLimits: { models: 1.5 } })).toThrow(ConfigError);
  });

  it('sorts custom buckets', async () => {
    const m = new ClientMetrics({ buckets: [5, 1, 2] });
    m.onCallComplete(record({ latencyMs: 1500 }));
    const exp = await scrape(m);
    const les = select(exp, 'anthropic_request_latency_seconds_bucket').map((s) => s.labels.le);
    expect(les).toEqual(['1', '2', '5', '+Inf']);
    expect(value(exp, 'anthropic_request_latency_seconds_bucket', { le: '2' })).toBe(1);
    expect(value(exp, 'anthropic_request_latency_seconds_bucket', { le: '1' })).toBe(0);
  });
});

describe('ClientMetrics: call records', () => {
  it('counts calls, status, outcome, attempts, tokens, cost, latency and wait', async () => {
    const m = new ClientMetrics();
    m.onCallComplete(
      record({
        attempts: 3,
        latencyMs: 2500,
        rateLimitWaitMs: 300,
        tokens: { input: 10, output: 20, cacheRead: 5, cacheWrite: 7 },
        costUsd: 0.25,
      }),
    );
    m.onCallComplete(record({ ok: false, status: 400, errorClass: 'BadRequestError', failureReason: 'client_error' }));
    m.onCallComplete(record({ ok: false, status: undefined, errorClass: 'CircuitOpenError', failureReason: 'local', attempts: 0 }));
    const exp = await scrape(m);
    const model = 'claude-sonnet-4-6';
    expect(value(exp, 'anthropic_requests_total', { model, status: '200' })).toBe(1);
    expect(value(exp, 'anthropic_requests_total', { model, status: '400' })).toBe(1);
    expect(value(exp, 'anthropic_requests_total', { model, status: 'CircuitOpenError' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'success' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'client_error' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model, outcome: 'local' })).toBe(1);
    expect(value(exp, 'anthropic_attempts_total', { model, outcome: 'success' })).toBe(3);
    expect(value(exp, 'anthropic_attempts_total', { model, outcome: 'client_error' })).toBe(1);
    expect(select(exp, 'anthropic_attempts_total', { outcome: 'local' })).toHaveLength(0);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'input' })).toBe(10);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'output' })).toBe(20);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'cache_read' })).toBe(5);
    expect(value(exp, 'anthropic_tokens_total', { model, type: 'cache_write' })).toBe(7);
    expect(value(exp, 'anthropic_cost_usd_total', { model })).toBe(0.25);
    expect(value(exp, 'anthropic_request_latency_seconds_count', { model })).toBe(3);
    expect(value(exp, 'anthropic_request_latency_seconds_sum', { model })).toBeCloseTo(2.5 + 0.12 + 0.12, 9);
    expect(value(exp, 'anthropic_ratelimit_wait_seconds_count', { model })).toBe(3);
    expect(value(exp, 'anthropic_ratelimit_wait_seconds_bucket', { model, le: '0' })).toBe(2);
    expect(value(exp, 'anthropic_ratelimit_wait_seconds_sum', { model })).toBeCloseTo(0.3, 9);
  });

  it('never uses user, request id or call id as a label', async () => {
    const m = new ClientMetrics();
    m.onCallComplete(record({ user: 'user-SECRET-42', requestId: 'req_SECRET', callId: 'call_SECRET', tags: ['tag-SECRET'] }));
    const text = await m.registry.metrics();
    expect(text).not.toContain('SECRET');
  });

  it('uses the requested model, falling back to the response model, else none', async () => {
    const m = new ClientMetrics();
    m.onCallComplete(record({ model: undefined, responseModel: 'claude-x-2025' }));
    m.onCallComplete(record({ model: undefined, path: '/v1/models' }));
    const exp = await scrape(m);
    expect(value(exp, 'anthropic_calls_total', { model: 'claude-x-2025' })).toBe(1);
    expect(value(exp, 'anthropic_calls_total', { model: 'none' })).toBe(1);
  });

  it('caps distinct models (default 50, then other) and error-class statuses', async () => {
    const m = new ClientMetrics({ labelLimits: { errorClasses: 2 } });
    for (let i = 0; i < 80; i++) m.onCallComplete(record({ model: `model-${i}` }));
    for (const errorClass of ['E1', 'E2', 'E3', 'E4']) m.onCallComplete(record({ ok: false, status: undefined, errorClass }));
    const exp = await scrape(m);
    const models = new Set(select(exp, 'anthropic_calls_total').map((s) => s.labels.model));
    expect(models.size).toBe(51);
    expect(value(exp, 'anthropic_calls_total', { model: 'other', outcome: 'success' })).toBe(30);
    // The later calls' model came after the cap too.
    expect(value(exp, 'anthropic_calls_total', { model: 'other', outcome: 'local' })).toBe(4);
    expect(value(exp, 'anthropic_calls_total', { model: 'model-49' })).toBe(1);
    const statuses = new Set(select(exp, 'anthropic_requests_total').map((s) => s.labels.status));
    expect(statuses).toEqual(new Set(['200', 'E1', 'E2', 'other']));
  });

  it('never reports a value that looks like an API key', async () => {
    const m = new ClientMetrics();
    // Key-shaped values, assembled at run time so that secret scanners do not flag these fakes.
    const keyLike = (tail: string) => ['sk-ant-api03', tail].join('-');
    m.onCallComplete(record({ model: keyLike('abcdefghijklmnop'), notes: { keyAlias: keyLike('qrstuvwxyz') } }));
    const text = await m.registry.metrics();
    expect(text).not.toContain('sk-ant');
    expect(value(parseExposition(text), 'anthropic_calls_total', { model: 'redacted' })).toBe(1);
  });

  it('counts calls per key alias when notes carry one', async () => {
    const m = new ClientMetrics({ labelLimits: { keyAliases: 2 } });
    m.onCallComplete(record({ notes: { keyAlias: 'primary' } }));
    m.onCallComplete(record({ notes: { keyAlias: 'backup' }, ok: false, status: 529, errorClass: 'OverloadedError' }));
    m.onCallComplete(record({ notes: { keyAlias: 'third' } }));
    m.onCallComplete(record({ notes: { keyAlias: 42 } }));
    m.onCallComplete(record());
    const exp = await scrape(m);
    expect(value(exp, 'anthropic_key_calls_total', { key_alias: 'primary', outcome: 'success' })).toBe(1);
    expect(value(exp, 'anthropic_key_calls_total', { key_alias: 'backup', outcome: 'server_error' })).toBe(1);
    expect(value(exp, 'anthropic_key_calls_total', { key_alias: 'other', outcome: 'success' })).toBe(1);
    expect(sum(exp, 'anthropic_key_calls_total')).toBe(3);
  });

  it('ignores non-finite or negative numbers instead of throwing', async () => {
    const m = new ClientMetrics();
    m.onCallComplete(
      record({ latencyMs: Number.NaN, rateLimitWaitMs: -1, costUsd: Number.POSITIVE_INFINITY, tokens: { input: -5, output: 3, cacheRead: 0, cacheWrite: 0 } }),
    );
    const exp = await scrape(m);
    expect(sum(exp, 'anthropic_request_latency_seconds_count')).toBe(0);
    expect(sum(exp, 'anthropic_cost_usd_total')).toBe(0);
    expect(sum(exp, 'anthropic_tokens_total', { type: 'input' })).toBe(0);
    expect(sum(exp, 'anthropic_tokens_total', { type: 'output' })).toBe(3);
  });
});

describe('callOutcome', () => {
  const cases: Array<[Partial<CallRecord>, string]> = [
    [{ ok: true }, 'success'],
    [{ ok: false, status: 400, errorClass: 'BadRequestError' }, 'client_error'],
    [{ ok: false, status: 408, failureReason: 'request_timeout' }, 'client_error'],
    [{ ok: false, status: 429, errorClass: 'RateLimitError', failureReason: 'rate_limited' }, 'rate_limited'],
    [{ ok: false, status: 429, errorClass: 'RateLimitError', failureReason: 'spend_limit' }, 'client_error'],
    [{ ok: false, status: 529, errorClass: 'OverloadedError' }, 'server_error'],
    [{ ok: false, status: 503, errorClass: 'InternalServerError' }, 'server_error'],
    [{ ok: false, status: undefined, errorClass: 'APIConnectionError', failureReason: 'connection' }, 'connection'],
    [{ ok: false, status: undefined, errorClass: 'APIConnectionTimeoutError' }, 'connection'],
    [{ ok: false, status: 200, errorClass: 'StreamInterruptedError', failureReason: 'stream_interrupted' }, 'connection'],
    [{ ok: false, status: 200, errorClass: 'APIError' }, 'server_error'],
    [{ ok: false, status: 200, errorClass: 'APIUserAbortError' }, 'cancelled'],
    [{ ok: false, status: undefined, errorClass: 'APIUserAbortError', failureReason: 'caller_abort' }, 'cancelled'],
    [{ ok: false, status: undefined, errorClass: 'CircuitOpenError', failureReason: 'overloaded' }, 'local'],
    [{ ok: false, status: undefined, errorClass: 'BudgetExceededError' }, 'local'],
    [{ ok: false, status: undefined, errorClass: 'DeadlineExceededError', failureReason: 'server_error' }, 'local'],
    [{ ok: false, status: undefined, errorClass: 'TypeError' }, 'local'],
    [{ ok: false, status: undefined, errorClass: 'SomethingElse', failureReason: 'connection' }, 'connection'],
  ];
  it.each(cases)('%j → %s', (overrides, expected) => {
    expect(callOutcome(record(overrides))).toBe(expected);
  });
});

describe('ClientMetrics: retries and breakers', () => {
  it('counts retries by model and reason', async () => {
    const m = new ClientMetrics();
    m.onRetry({ callId: 'a', attempt: 1, delayMs: 10, delaySource: 'backoff', reason: 'overloaded', status: 529, model: 'm1', requestId: 'req_X' });
    m.onRetry({ callId: 'a', attempt: 2, delayMs: 10, delaySource: 'backoff', reason: 'overloaded', status: 529, model: 'm1' });
    m.onRetry({ callId: 'b', attempt: 1, delayMs: 10, delaySource: 'backoff', reason: 'connection' });
    const exp = await scrape(m);
    expect(value(exp, 'anthropic_retries_total', { model: 'm1', reason: 'overloaded' })).toBe(2);
    expect(value(exp, 'anthropic_retries_total', { model: 'none', reason: 'connection' })).toBe(1);
    expect(await m.registry.metrics()).not.toContain('req_X');
  });

  it('breaker state follows events when no collector is set; transitions are counted', async () => {
    const m = new ClientMetrics();
    const at = Date.now();
    m.onBreakerStateChange({ scope: 'default', from: 'closed', to: 'open', at, retryAfterMs: 100 });
    let exp = await scrape(m);
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(2);
    m.onBreakerStateChange({ scope: 'default', from: 'open', to: 'halfOpen', at });
    exp = await scrape(m);
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(1);
    m.onBreakerStateChange({ scope: 'default', from: 'halfOpen', to: 'closed', at });
    exp = await scrape(m);
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(0);
    expect(value(exp, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'open' })).toBe(1);
    expect(value(exp, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'half_open' })).toBe(1);
    expect(value(exp, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'closed' })).toBe(1);
  });

  it('a breakers collector is read at scrape time and wins over events; overflow scopes fold to the worst state', async () => {
    const m = new ClientMetrics({ labelLimits: { scopes: 2 } });
    m.onBreakerStateChange({ scope: 'stale', from: 'closed', to: 'open', at: 0 });
    let breakers: Record<string, { state: 'closed' | 'open' | 'halfOpen' }> = { a: { state: 'closed' } };
    m.setCollectors({ breakers: () => breakers });
    let exp = await scrape(m);
    expect(select(exp, 'anthropic_breaker_state')).toEqual([{ name: 'anthropic_breaker_state', labels: { scope: 'a' }, value: 0 }]);
    breakers = { a: { state: 'halfOpen' }, c: { state: 'closed' }, d: { state: 'open' }, e: { state: 'closed' } };
    exp = await scrape(m);
    // 'stale' (from the event) and 'a' took the two scope slots.
    expect(value(exp, 'anthropic_breaker_state', { scope: 'a' })).toBe(1);
    expect(value(exp, 'anthropic_breaker_state', { scope: 'other' })).toBe(2);
    expect(select(exp, 'anthropic_breaker_state')).toHaveLength(2);
  });
});

describe('ClientMetrics: scrape-time collectors', () => {
  it('gauges without a collector have no samples (not a misleading 0)', async () => {
    const exp = await scrape(new ClientMetrics());
    for (const name of [
      'anthropic_active_requests',
      'anthropic_budget_remaining_usd',
      'anthropic_budget_limit_usd',
      'anthropic_ratelimit_queue_depth',
      'anthropic_ratelimit_remaining',
      'anthropic_breaker_state',
    ]) {
      expect(select(exp, name), name).toHaveLength(0);
    }
  });

  it('reads active requests, budget and rate-limit state at every scrape', async () => {
    const m = new ClientMetrics();
    let active = 3;
    let budget: { remainingUsd: number; limitUsd: number } | undefined = { remainingUsd: 7.5, limitUsd: 10 };
    m.setCollectors({
      activeRequests: () => active,
      budget: () => budget,
      rateLimit: () => ({
        default: {
          queueDepth: 4,
          dimensions: {
            requests: { available: 49, capacity: 50 },
            inputTokens: { available: -200, capacity: 30_000 },
            outputTokens: { available: Infinity, capacity: Infinity },
          },
        },
      }),
    });
    let exp = await scrape(m);
    expect(value(exp, 'anthropic_active_requests')).toBe(3);
    expect(value(exp, 'anthropic_budget_remaining_usd')).toBe(7.5);
    expect(value(exp, 'anthropic_budget_limit_usd')).toBe(10);
    expect(value(exp, 'anthropic_ratelimit_queue_depth', { scope: 'default' })).toBe(4);
    expect(value(exp, 'anthropic_ratelimit_remaining', { scope: 'default', dimension: 'requests' })).toBe(49);
    expect(value(exp, 'anthropic_ratelimit_remaining', { scope: 'default', dimension: 'input_tokens' })).toBe(-200);
    expect(value(exp, 'anthropic_ratelimit_capacity', { scope: 'default', dimension: 'input_tokens' })).toBe(30_000);
    expect(select(exp, 'anthropic_ratelimit_remaining', { dimension: 'output_tokens' })).toHaveLength(0);
    active = 0;
    budget = undefined;
    exp = await scrape(m);
    expect(value(exp, 'anthropic_active_requests')).toBe(0);
    expect(select(exp, 'anthropic_budget_remaining_usd')).toHaveLength(0);
    // Removing a collector removes its samples.
    m.setCollectors({ activeRequests: undefined });
    exp = await scrape(m);
    expect(select(exp, 'anthropic_active_requests')).toHaveLength(0);
    expect(value(exp, 'anthropic_ratelimit_queue_depth', { scope: 'default' })).toBe(4);
  });

  it('calls each collector once per scrape, and a throwing one is counted, not fatal', async () => {
    const m = new ClientMetrics();
    let rateLimitCalls = 0;
    m.setCollectors({
      rateLimit: () => {
        rateLimitCalls++;
        return { s: { queueDepth: 1, dimensions: { requests: { available: 1, capacity: 2 } } } };
      },
      budget: () => {
        throw new Error('boom');
      },
    });
    let exp = await scrape(m);
    expect(rateLimitCalls).toBe(1);
    expect(value(exp, 'anthropic_metrics_collector_errors_total', { collector: 'budget' })).toBe(1);
    expect(select(exp, 'anthropic_budget_remaining_usd')).toHaveLength(0);
    expect(select(exp, 'anthropic_budget_limit_usd')).toHaveLength(0);
    exp = await scrape(m);
    expect(rateLimitCalls).toBe(2);
    expect(value(exp, 'anthropic_metrics_collector_errors_total', { collector: 'budget' })).toBe(2);
  });
});
