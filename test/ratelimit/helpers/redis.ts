/**
 * Helpers for the rate-limit integration tests against a real Redis at 127.0.0.1:6379.
 *
 * A Redis that does not answer FAILS the tests (never a silent skip): loudly under `CI=true`, and
 * otherwise with the command that starts a throw-away server.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect } from 'node:net';
import Redis, { type RedisOptions } from 'ioredis';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
/** A database only these tests flush (FLUSHDB on db 0 would wipe other suites' keys). */
export const FLUSHABLE_DB = 13;

const START_HINT = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

/** A client to the shared test server; fails fast instead of queueing forever. */
export function client(opts: RedisOptions = {}): Redis {
  return new Redis({ host: REDIS_HOST, port: REDIS_PORT, maxRetriesPerRequest: 1, ...opts });
}

/** Throw a loud, actionable error unless Redis answers PING within 2 s. */
export async function requireRedis(port = REDIS_PORT): Promise<void> {
  const probe = new Redis({ host: REDIS_HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  let failure: unknown;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 2000 ms')), 2000);
      }),
    ]);
  } catch (e) {
    failure = e;
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
  if (failure === undefined) return;
  const why = failure instanceof Error ? failure.message : String(failure);
  const message =
    process.env.CI === 'true'
      ? `\n\n*** CI: the rate-limit Redis integration tests need a Redis server at ${REDIS_HOST}:${port} and it did not answer (${why}). ` +
        'Start a Redis service in the CI job; these tests are never skipped. ***\n'
      : `\n\nThe rate-limit Redis integration tests need a Redis server at ${REDIS_HOST}:${port} (${why}).\n` +
        `Start a throw-away one with:\n\n  ${START_HINT}\n\n(install it with \`apt-get install -y redis-server\` if missing). These tests are never skipped.\n`;
  console.error(message);
  throw new Error(message);
}

/** A key prefix no other test (or process) uses. */
export function uniquePrefix(): string {
  return `rc:rl:test:${process.pid}:${randomUUID()}:`;
}

/** Delete every key under `prefix` (SCAN, never KEYS). */
export async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP proxy in front of the test Redis, to simulate an outage for one client only (the shared
 * server itself is never disturbed): `stop()` closes the listener and cuts every connection,
 * `start()` listens again on the same port.
 */
export class RedisProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((downstream) => {
      const upstream = connect(REDIS_PORT, REDIS_HOST);
      this.sockets.add(downstream);
      this.sockets.add(upstream);
      const drop = (): void => {
        downstream.destroy();
        upstream.destroy();
        this.sockets.delete(downstream);
        this.sockets.delete(upstream);
      };
      downstream.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      downstream.pipe(upstream).pipe(downstream);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Resolve after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `predicate` every 10 ms until true or `ms` passed; returns whether it became true. */
export async function eventually(predicate: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return true;
    await sleep(10);
  }
  return predicate();
}
