/**
 * The one way the test suites reach Redis: a real server (127.0.0.1:6379, or `REDIS_URL`). A Redis that
 * does not answer FAILS the tests, never a silent skip: loudly under `CI=true`, and otherwise with the
 * command that starts a throw-away server.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** The Redis the tests use. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const START_HINT =
  'Start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no ' +
  '(install: apt-get update && apt-get install -y redis-server), or set REDIS_URL.';

/**
 * Connects to the test Redis (database `db`) and returns the client, or throws an error that says what
 * to do. `suite` names the tests in the message.
 */
export async function requireRedis(suite: string, db = 0): Promise<Redis> {
  const client = new Redis(`${REDIS_URL}/${db}`, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if ((await client.ping()) !== 'PONG') throw new Error('unexpected PING reply');
    return client;
  } catch (error) {
    client.disconnect();
    const why = error instanceof Error ? error.message : String(error);
    const message =
      process.env['CI'] === 'true'
        ? `!!! REDIS REQUIRED: the ${suite} tests cannot reach ${REDIS_URL} (${why}). CI must provide Redis; these tests are never skipped.`
        : `The ${suite} tests need a Redis at ${REDIS_URL} (${why}). ${START_HINT}`;
    console.error(`\n${message}\n`);
    throw new Error(message, { cause: error });
  }
}

/** A key prefix no other test (or process) uses. */
export function uniquePrefix(tag: string): string {
  return `rc:test:${tag}:${process.pid}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A TCP port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
