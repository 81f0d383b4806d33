// Testing YOUR app with `resilient-claude/testing`: a real HTTP fake of the Anthropic API, with faults
// you inject, and a ledger of every request it received. No network, no key, no cost; runs in vitest.
//
// Run: npm run example -- testing-your-app   (= npx vitest run --config examples/vitest.config.mts)
// In your project, put this file wherever your vitest config already looks for tests.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APIError, CircuitOpenError, ResilientClaude, type Anthropic } from '../src/index';
import { FakeAnthropicServer, faults } from '../src/testing/index';

// ---- the code under test: a tiny "app function" that takes any Anthropic-compatible client -------------
export async function summarizeTicket(client: Anthropic, ticket: string): Promise<{ summary: string; degraded: boolean }> {
  try {
    const message = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: `Summarize this support ticket in one line:\n${ticket}` }],
    });
    const summary = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    return { summary, degraded: false };
  } catch (error) {
    // Our degraded mode: the API failed after its retries, or the circuit breaker is open.
    if (error instanceof APIError || error instanceof CircuitOpenError) return { summary: ticket.slice(0, 40), degraded: true };
    throw error;
  }
}

// ---- the tests ---------------------------------------------------------------------------------------------
let server: FakeAnthropicServer;
let client: ResilientClaude;

beforeEach(async () => {
  server = await FakeAnthropicServer.start(); // a fresh server per test: its own faults and ledger
  client = new ResilientClaude({
    baseURL: server.url,
    apiKey: 'test-key',
    logger: false,
    retry: { baseDelayMs: 1, maxDelayMs: 5 }, // same retry behaviour, millisecond backoff: fast tests
  });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe('summarizeTicket', () => {
  it('sends the ticket and returns the model text', async () => {
    const result = await summarizeTicket(client, 'The export button does nothing.');
    expect(result.degraded).toBe(false);
    expect(result.summary.length).toBeGreaterThan(0);
    // The ledger shows exactly what reached the API.
    expect(server.ledger).toHaveLength(1);
    expect(JSON.stringify(server.ledger[0]!.body)).toContain('The export button does nothing.');
  });

  it('rides out two 529s without the user noticing', async () => {
    server.schedule(faults.overloaded(), faults.overloaded()); // the next two requests fail, then 200
    const result = await summarizeTicket(client, 'Login is slow.');
    expect(result.degraded).toBe(false);
    expect(server.stats().byStatus).toEqual({ '529': 2, '200': 1 });
  });

  it('degrades during an outage, after a bounded number of attempts', async () => {
    server.outage(faults.unavailable()); // every request: 503
    const result = await summarizeTicket(client, 'Checkout fails with error 500 on submit.');
    expect(result).toEqual({ summary: 'Checkout fails with error 500 on submit.', degraded: true });
    expect(server.stats().requests).toBe(3); // 1 attempt + the default 2 retries, never more
  });

  it('does not retry a request the API rejects (400)', async () => {
    server.inject(faults.badRequest('messages: text too long'), { times: 1 });
    await expect(summarizeTicket(client, 'x')).resolves.toMatchObject({ degraded: true });
    expect(server.stats().requests).toBe(1);
  });

  it('counts what it spent', async () => {
    await summarizeTicket(client, 'Dark mode please.');
    const { served } = server.stats(); // tokens the server actually served
    expect(client.costs!.summary()).toMatchObject({ requests: 1, inputTokens: served.inputTokens, outputTokens: served.outputTokens });
  });
});
