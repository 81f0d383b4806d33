import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the integration tests use. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const START_HINT =
  'Start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no ' +
  '(install: apt-get update && apt-get install -y redis-server), or set REDIS_URL.';

/**
 * Connects to the test Redis or throws: these tests never skip silently. Under `CI=true` the message is
 * loud; elsewhere it also says how to start Redis.
 */
export async function requireRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if ((await client.ping()) !== 'PONG') throw new Error('unexpected PING reply');
    return client;
  } catch (error) {
    client.disconnect();
    const why = error instanceof Error ? error.message : String(error);
    if (process.env['CI'] === 'true') {
      throw new Error(`!!! REDIS REQUIRED: the Redis integration tests cannot reach ${REDIS_URL} (${why}). CI must provide Redis.`, {
        cause: error,
      });
    }
    throw new Error(`Redis integration tests need a Redis at ${REDIS_URL} (${why}). ${START_HINT}`, { cause: error });
  }
}

/** A key prefix unique to this test run. */
export function uniquePrefix(): string {
  return `rc:test:${process.pid}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix`. */
export async function cleanup(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** New client for the same Redis (a second "process" within the test). */
export function newClient(): Redis {
  const c = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  return c;
}
