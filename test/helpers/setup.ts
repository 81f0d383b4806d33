import { FakeAnthropicServer } from '../../src/testing';
import { ResilientClaude } from '../../src/client';
import type { ResilientClaudeOptions } from '../../src/options';

/** A message request small enough for any test. */
export const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello there' }],
};

/** Fast, deterministic retry settings for tests that are not about backoff itself. */
export const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, jitter: false } as const;

/** Starts a fake server and returns it with a client factory bound to it. */
export async function startServer(options: Parameters<typeof FakeAnthropicServer.start>[0] = {}) {
  const server = await FakeAnthropicServer.start(options);
  const clients: ResilientClaude[] = [];
  const client = (opts: ResilientClaudeOptions = {}) => {
    const c = new ResilientClaude({ apiKey: 'test-key', baseURL: server.url, logger: false, retry: fastRetry, ...opts });
    clients.push(c);
    return c;
  };
  const close = async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  };
  return { server, client, close };
}

/** The `/v1/messages` records of the server's ledger. */
export function messageRequests(server: FakeAnthropicServer) {
  return server.ledger.filter((r) => r.path === '/v1/messages');
}
