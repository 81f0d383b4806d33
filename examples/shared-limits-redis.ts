// Shared rate limits across processes: two processes (this one and a forked copy of itself) send calls
// through one Redis-backed limiter, and together stay inside ONE rate limit — the server sees no 429.
// Without `redis`, each process would assume it has the whole limit and they would overshoot it together.
//
// Run: npm run example -- shared-limits-redis      (needs Redis on 127.0.0.1:6379, or set REDIS_URL)
// Offline by default. With ANTHROPIC_API_KEY set, each process makes ONE real call (claude-haiku-4-5,
// max_tokens 20) with limits learned from the API's headers: well under $0.001 in total.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { fork } from 'node:child_process';
import Redis from 'ioredis';
import { ResilientClaude } from '../src/index';
import { FakeAnthropicServer } from '../src/testing/index';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RPM = 240; // the limit: a bucket of 240 requests, refilled at 4 per second
const CALLS_PER_PROCESS = 130; // 260 in all: 240 at once, the last 20 paced over ~5 s
const live = Boolean(process.env.ANTHROPIC_API_KEY);

/** What each process does: one client, sharing its buckets through Redis under `prefix`. */
async function sendCalls(baseURL: string | undefined, prefix: string) {
  const shared = { redis: REDIS_URL, redisPrefix: prefix, logger: false as const };
  const client = baseURL
    ? new ResilientClaude({ ...shared, baseURL, apiKey: 'fake-key', rateLimit: { rpm: RPM } }) // explicit ceiling
    : new ResilientClaude(shared); // live: limits learned from the API's anthropic-ratelimit-* headers
  const params = { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user' as const, content: 'Hi' }] };
  const n = baseURL ? CALLS_PER_PROCESS : 1;
  try {
    await Promise.all(Array.from({ length: n }, () => client.messages.create(params))); // queued by the limiter
    // The limiter's view: where admissions were decided ('redis' = shared) and the requests/min it used.
    const scope = Object.values(client.health().rateLimit)[0]; // one scope per model
    return { sent: n, store: scope?.store, rpm: scope?.dimensions.requests.capacity };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  if (process.env.SHARED_LIMITS_PREFIX) {
    // The forked copy: send its calls at once, report back to the parent, exit.
    const report = await sendCalls(process.env.FAKE_URL || undefined, process.env.SHARED_LIMITS_PREFIX);
    process.send!(report, () => process.disconnect());
    return;
  }

  // Redis must answer; if it does not, say how to start it.
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
  } catch {
    console.error(`Redis does not answer at ${REDIS_URL}. Start one with:\n  docker run --rm -p 6379:6379 redis:7\nor: redis-server`);
    process.exit(1);
  }

  const prefix = `example:${process.pid}:${Date.now()}:`; // keeps this run's keys apart from anything else
  const server = live ? undefined : await FakeAnthropicServer.start({ rateLimits: { rpm: RPM } });
  const started = Date.now();
  const child = fork(__filename, { env: { ...process.env, SHARED_LIMITS_PREFIX: prefix, FAKE_URL: server?.url ?? '' } });
  const childReport = new Promise<Awaited<ReturnType<typeof sendCalls>>>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the forked process exited with code ${code}`)));
  });
  try {
    const [mine, theirs] = await Promise.all([sendCalls(server?.url, prefix), childReport]);
    const seconds = (Date.now() - started) / 1000;

    for (const [who, r] of [['this process', mine], ['forked process', theirs]] as const) {
      console.log(`${who}: ${r.sent} calls, limiter store '${r.store}', ${r.rpm} requests/min`);
    }
    console.log(`together: ${mine.sent + theirs.sent} calls in ${seconds.toFixed(1)} s`);
    if (server) {
      const allowed = Math.floor(RPM + (RPM / 60) * seconds);
      console.log(`a ${RPM}/min limit allows at most ${RPM} at once + ${RPM / 60}/s after: ${allowed} in ${seconds.toFixed(1)} s`);
      console.log(`server: ${server.stats().requests} requests, ${server.stats().rateLimited} rate-limited (429)`);
    }
  } finally {
    child.kill();
    await server?.close();
    // Tidy up this run's keys (shared limits expire on their own; the shared cost ledger is kept for days).
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
