import { OverloadedError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord, CostEvent } from '../src/events';
import { keywordClassifier, simpleTaskRouter, usesPromptCache } from '../src/routing/simple-task-router';
import { faults } from '../src/testing';
import { messageRequests, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

const OPUS = 'claude-opus-4-7';
const HAIKU = 'claude-haiku-4-5';
const simple = { model: OPUS, max_tokens: 4_000, messages: [{ role: 'user' as const, content: 'Summarize: the build is green again.' }] };
const complex = {
  model: OPUS,
  max_tokens: 4_000,
  messages: [{ role: 'user' as const, content: 'Design an architecture for a multi-region queue and analyze its failure modes.' }],
};

describe('keyword classifier', () => {
  it('calls transformations simple and reasoning complex', () => {
    expect(keywordClassifier(simple)).toBe('simple');
    expect(keywordClassifier(complex)).toBe('complex');
    expect(keywordClassifier({ ...simple, tools: [{ name: 't', input_schema: { type: 'object' } }] })).toBe('complex');
    expect(keywordClassifier({ ...simple, messages: [{ role: 'user', content: 'x'.repeat(5_000) + ' summarize' }] })).toBe('complex');
  });

  it('detects prompt caching anywhere in the request', () => {
    expect(usesPromptCache(simple)).toBe(false);
    expect(usesPromptCache({ ...simple, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }] })).toBe(true);
    expect(usesPromptCache({ ...simple, cache_control: { type: 'ephemeral' } })).toBe(true);
  });
});

describe('cost-aware routing', () => {
  it('sends a simple task to the cheaper model, trims max_tokens, records and prices the real model', async () => {
    const client = env.client({ route: simpleTaskRouter({ cheapModel: HAIKU, maxTokensForSimple: 512 }) });
    const records: CallRecord[] = [];
    const costs: CostEvent[] = [];
    client.on('callComplete', (r) => records.push(r));
    client.on('cost', (c) => costs.push(c));
    const message = await client.messages.create(simple);
    const [sent] = messageRequests(env.server);
    expect(sent!.body).toMatchObject({ model: HAIKU, max_tokens: 512 });
    expect(message.model).toBe('claude-haiku-4-5-20251001');
    expect(records[0]).toMatchObject({ model: HAIKU, notes: { routedFrom: OPUS, routeReason: 'simple task' } });
    expect(costs[0]!.model).toBe('claude-haiku-4-5-20251001');
    expect(client.costs!.summary().byModel).toHaveProperty('claude-haiku-4-5-20251001');
  });

  it('leaves a complex task on its model', async () => {
    const client = env.client({ route: simpleTaskRouter({ cheapModel: HAIKU }) });
    await client.messages.create(complex);
    expect(messageRequests(env.server)[0]!.body).toMatchObject({ model: OPUS, max_tokens: 4_000 });
  });

  it('never re-routes a request that uses prompt caching, unless told to', async () => {
    const cached = { ...simple, system: [{ type: 'text' as const, text: 'Be terse.', cache_control: { type: 'ephemeral' as const } }] };
    const keep = env.client({ route: simpleTaskRouter({ cheapModel: HAIKU }) });
    await keep.messages.create(cached);
    const move = env.client({ route: simpleTaskRouter({ cheapModel: HAIKU, rerouteCached: true }) });
    await move.messages.create(cached);
    const [first, second] = messageRequests(env.server);
    expect(first!.body).toMatchObject({ model: OPUS });
    expect(second!.body).toMatchObject({ model: HAIKU });
  });

  it('takes a custom route hook', async () => {
    const client = env.client({ route: (params) => ({ ...params, max_tokens: 7 }) });
    await client.messages.create(simple);
    expect(messageRequests(env.server)[0]!.body).toMatchObject({ model: OPUS, max_tokens: 7 });
  });
});

describe('model fallback on overload', () => {
  it('a model overloaded after its retries hands the call to the next model, priced as that model', async () => {
    const client = env.client({ maxRetries: 1, fallbackModels: [HAIKU], circuitBreaker: { sampleSize: 50, minimumAttempts: 50 } });
    env.server.inject(faults.overloaded(), { match: (r) => r.model === OPUS });
    const records: CallRecord[] = [];
    client.on('callComplete', (r) => records.push(r));
    const message = await client.messages.create(complex);
    expect(message.model).toBe('claude-haiku-4-5-20251001');
    expect(messageRequests(env.server).map((r) => r.model)).toEqual([OPUS, OPUS, HAIKU]);
    expect(records[0]).toMatchObject({ ok: true, model: HAIKU, notes: { fallbackFrom: OPUS, fallbackTo: HAIKU } });
    expect(client.costs!.summary().byModel).toHaveProperty('claude-haiku-4-5-20251001');
    expect(client.costs!.summary().byModel).not.toHaveProperty(OPUS);
  });

  it('an open breaker for the model sends the call straight to the fallback', async () => {
    const client = env.client({
      retry: false,
      fallbackModels: [HAIKU],
      circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 60_000, whenOpen: 'fail' },
    });
    env.server.inject(faults.overloaded(), { match: (r) => r.model === OPUS });
    for (let i = 0; i < 4; i++) await client.messages.create(complex);
    expect(client.health().breakers[OPUS]?.state).toBe('open');
    env.server.resetLedger();
    await client.messages.create(complex);
    expect(messageRequests(env.server).map((r) => r.model)).toEqual([HAIKU]);
  });

  it('when every model is overloaded the caller gets the last OverloadedError', async () => {
    const client = env.client({ retry: false, fallbackModels: [HAIKU], circuitBreaker: false });
    env.server.outage(faults.overloaded());
    await expect(client.messages.create(complex)).rejects.toBeInstanceOf(OverloadedError);
    expect(messageRequests(env.server).map((r) => r.model)).toEqual([OPUS, HAIKU]);
  });
});
