// Health and Prometheus metrics in an express 5 app: createHealthHandler(client, { metrics: true })
// serves /health (snapshot), /health/live, /health/ready (200 or 503 for load balancers) and /metrics.
//
// Run: npm run example -- health-express
// Offline by default (an outage on the fake server shows /health/ready turning 503). With
// ANTHROPIC_API_KEY set it makes ONE real call (claude-haiku-4-5, max_tokens 20): well under $0.001.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createHealthHandler, ResilientClaude, type ResilientClaudeOptions } from '../src/index';
import { FakeAnthropicServer } from '../src/testing/index';

async function main(): Promise<void> {
  const fake = process.env.ANTHROPIC_API_KEY ? undefined : await FakeAnthropicServer.start();
  // A breaker that opens after 3 attempts and fails fast, so the offline outage below shows in `/health/ready` at once.
  const options: ResilientClaudeOptions = { logger: false, circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 60_000, whenOpen: 'fail' } };
  const client = fake ? new ResilientClaude({ ...options, baseURL: fake.url, apiKey: 'fake-key' }) : new ResilientClaude(options);

  const app = express();
  app.use(createHealthHandler(client, { metrics: true })); // unknown paths fall through to your routes
  app.get('/', (_req, res) => {
    res.send('your app');
  });
  const http = app.listen(0);
  await new Promise((resolve) => http.once('listening', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  /** What a probe, a dashboard and Prometheus would see. */
  async function scrape(when: string): Promise<void> {
    console.log(`--- ${when}`);
    const health = (await (await fetch(`${base}/health`)).json()) as { ready: boolean; breakers: Record<string, { state: string }> };
    console.log('GET /health        ->', { ready: health.ready, breakers: Object.values(health.breakers).map((b) => b.state) });
    const ready = await fetch(`${base}/health/ready`);
    console.log('GET /health/ready  ->', ready.status, await ready.text());
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const calls = metrics.split('\n').filter((line) => line.startsWith('anthropic_calls_total'));
    console.log('GET /metrics       ->', calls.length ? calls : '(no calls yet)');
  }

  const ask = () =>
    client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });

  try {
    await ask();
    await scrape('after one successful call');
    if (fake) {
      // The API goes down: the call fails after its retries, the breaker opens, readiness says 503.
      fake.outage();
      await ask().catch((error: Error) => console.log(`call during the outage: ${error.name}: ${error.message}`));
      await scrape('during an outage');
    }
  } finally {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await client.close();
    await fake?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
