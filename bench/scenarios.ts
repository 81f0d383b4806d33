import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src/client';
import { FakeAnthropicServer, faults } from '../src/testing';

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Tell me something about rate limits.' }],
};

/** What one client achieved against a rate-limited server. */
export interface GoodputFigures {
  readonly succeeded: number;
  readonly failed: number;
  readonly server429s: number;
  readonly seconds: number;
}

/** Runs `calls` calls, `concurrency` in flight, against a fresh server with `rateLimits`. */
async function underLimits(make: (url: string) => Anthropic, calls: number, concurrency: number): Promise<GoodputFigures> {
  const server = await FakeAnthropicServer.start({
    rateLimits: { rpm: 120, itpm: 8_000, otpm: 12_000, windowMs: 10_000 },
    recordBodies: false,
  });
  const client = make(server.url);
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next++;
        await client.messages.create(params).then(
          () => succeeded++,
          () => failed++,
        );
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const server429s = server.ledger.filter((r) => r.status === 429).length;
  if (client instanceof ResilientClaude) await client.close();
  await server.close();
  return { succeeded, failed, server429s, seconds };
}

/** Goodput on a rate-limited server: the raw SDK (its own 2 retries) against ResilientClaude defaults. */
export async function goodputUnderLimits(calls: number, concurrency: number): Promise<{ raw: GoodputFigures; resilient: GoodputFigures }> {
  const raw = await underLimits((url) => new Anthropic({ apiKey: 'bench-key', baseURL: url }), calls, concurrency);
  const resilient = await underLimits((url) => new ResilientClaude({ apiKey: 'bench-key', baseURL: url, logger: false }), calls, concurrency);
  return { raw, resilient };
}

/** Requests that reached the server during a full outage, for a steady flow of calls. */
async function duringOutage(make: (url: string) => Anthropic, outageMs: number, callsPerSecond: number): Promise<{ sent: number; calls: number }> {
  const server = await FakeAnthropicServer.start({ recordBodies: false });
  const client = make(server.url);
  const outage = server.outage(faults.unavailable());
  const calls: Promise<unknown>[] = [];
  const started = performance.now();
  const total = Math.round((outageMs / 1000) * callsPerSecond);
  for (let i = 0; i < total; i++) {
    calls.push(client.messages.create(params).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 1000 / callsPerSecond));
  }
  const remaining = outageMs - (performance.now() - started);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
  const sent = server.ledger.length;
  outage.end();
  await Promise.all(calls);
  if (client instanceof ResilientClaude) await client.close();
  await server.close();
  return { sent, calls: total };
}

/** The same outage for both clients. */
export async function outageTraffic(outageMs: number, callsPerSecond: number) {
  const raw = await duringOutage((url) => new Anthropic({ apiKey: 'bench-key', baseURL: url }), outageMs, callsPerSecond);
  const resilient = await duringOutage(
    (url) => new ResilientClaude({ apiKey: 'bench-key', baseURL: url, logger: false }),
    outageMs,
    callsPerSecond,
  );
  return { raw, resilient };
}
