import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResilientClaude } from '../src/client';
import type { ResilientClaudeEvents } from '../src/events';
import { faults } from '../src/testing';
import { params, startServer } from './helpers/setup';

// Shaped like a real key (what redaction must catch), assembled at run time so that secret scanners
// reading the repository do not flag a fake.
const CANARY = ['sk-ant-api03', 'CANARY-7f3c9d2e1b0a4c8e9f6d5b4a3c2e1f0d-XYZ'].join('-');

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const fields: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(error)) fields[key] = (error as unknown as Record<string, unknown>)[key];
  const headers = (error as { headers?: Headers }).headers;
  return [String(error), error.stack ?? '', JSON.stringify(fields), headers ? JSON.stringify([...headers]) : ''].join('\n');
}

describe('secrets never leak', () => {
  it('a canary API key appears in no log line, event, error or health snapshot across a faulty run', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const client = new ResilientClaude({
      apiKey: CANARY,
      baseURL: env.server.url,
      logger: pino({ level: 'debug' }, sink),
      // The SDK's own debug lines (headers, bodies) go to the same logger.
      logLevel: 'debug',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      timeout: 200,
      circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 50, whenOpen: 'fail' },
    });
    const captured: unknown[] = [];
    for (const event of ['retry', 'breakerStateChange', 'callComplete'] as (keyof ResilientClaudeEvents)[]) {
      client.on(event, (payload) => captured.push(payload));
    }

    const schedule = [
      faults.overloaded(),
      faults.reset(),
      faults.unauthorized(),
      faults.badRequest('bad'),
      faults.rateLimited({ retryAfterMs: 1 }),
      faults.hang(),
      faults.serverError(500),
      faults.spendLimit(),
    ];
    const errors: string[] = [];
    for (const fault of schedule) {
      env.server.schedule(fault, fault, fault);
      await client.messages.create(params).catch((e: unknown) => errors.push(describeError(e)));
      env.server.clearFaults();
    }
    await new Promise((resolve) => setTimeout(resolve, 60)); // let the breaker half-open
    env.server.schedule(faults.cutStream(2));
    await (async () => {
      const stream = await client.messages.create({ ...params, stream: true });
      for await (const _ of stream) void _;
    })().catch((e: unknown) => errors.push(describeError(e)));

    // The key did go out (the test would prove nothing otherwise)...
    expect(env.server.ledger.some((r) => r.headers.authorization === `Bearer ${CANARY}`)).toBe(true);
    expect(lines.length).toBeGreaterThan(10);
    expect(errors.length).toBeGreaterThan(5);
    // ...and came back nowhere.
    const everything = [lines.join(''), JSON.stringify(captured), errors.join('\n'), JSON.stringify(client.health())].join('\n');
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain(CANARY.slice(10, 40));
  });
});
