// Health and Prometheus metrics in a fastify 5 app: createHealthHandler(client, { metrics: true }) is a
// node:http handler, so fastify hands it the raw request and response (reply.hijack()).
//
// Run: npm run example -- health-fastify
// Offline by default. With ANTHROPIC_API_KEY set it makes ONE real call (claude-haiku-4-5,
// max_tokens 20): well under $0.001.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { createHealthHandler, ResilientClaude } from '../src/index';
import { FakeAnthropicServer, faults } from '../src/testing/index';

async function main(): Promise<void> {
  const fake = process.env.ANTHROPIC_API_KEY ? undefined : await FakeAnthropicServer.start();
  fake?.schedule(faults.overloaded()); // one 529, retried, so the metrics show a retry
  const client = fake
    ? new ResilientClaude({ baseURL: fake.url, apiKey: 'fake-key', logger: false })
    : new ResilientClaude({ logger: false });

  const app = Fastify();
  const health = createHealthHandler(client, { metrics: true });
  const raw = (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack(); // fastify sends nothing itself; the handler answers on the raw response
    health(req.raw, reply.raw);
  };
  app.all('/health', raw);
  app.all('/health/*', raw); // /health/live and /health/ready
  app.all('/metrics', raw);
  app.get('/', async () => 'your app');
  const base = await app.listen({ port: 0, host: '127.0.0.1' });

  try {
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });

    const snapshot = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>;
    console.log('GET /health       -> 200, snapshot fields:', Object.keys(snapshot).join(', '));
    console.log('                     ready:', snapshot.ready, 'inFlight:', snapshot.inFlight);
    for (const path of ['/health/live', '/health/ready']) {
      const res = await fetch(`${base}${path}`);
      console.log(`GET ${path.padEnd(14)}->`, res.status, await res.text());
    }
    const metrics = await fetch(`${base}/metrics`);
    const wanted = /^anthropic_(calls|retries|tokens)_total/;
    console.log('GET /metrics      ->', metrics.status, metrics.headers.get('content-type'));
    for (const line of (await metrics.text()).split('\n').filter((l) => wanted.test(l))) console.log('   ', line);
  } finally {
    await app.close();
    await client.close();
    await fake?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
