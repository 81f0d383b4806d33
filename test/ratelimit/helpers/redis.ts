/**
 * Helpers for the rate-limit integration tests against a real Redis at 127.0.0.1:6379.
 *
 * A Redis that does not answer FAILS the tests (never a silent skip): loudly under `CI=true`, and
 * otherwise with the command that starts a throw-away server.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import Redis, { type RedisOptions } from 'ioredis';
import { closedPort, deleteKeys, requireRedis as requireSharedRedis, uniquePrefix as sharedPrefix } from '../../helpers/redis';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
/** A database only these tests flush (FLUSHDB on db 0 would wipe other suites' keys). */
export const FLUSHABLE_DB = 13;

/** A client to the shared test server; fails fast instead of queueing forever. */
export function client(opts: RedisOptions = {}): Redis {
  return new Redis({ host: REDIS_HOST, port: REDIS_PORT, maxRetriesPerRequest: 1, ...opts });
}

/** Throws a loud, actionable error unless the test Redis answers (see `test/helpers/redis.ts`). */
export async function requireRedis(): Promise<void> {
  (await requireSharedRedis('rate-limit Redis')).disconnect();
}

/** A key prefix no other test (or process) uses. */
export function uniquePrefix(): string {
  return sharedPrefix('rl');
}

/** Delete every key under `prefix` (SCAN, never KEYS). */
export const cleanup = deleteKeys;

export { closedPort };

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
