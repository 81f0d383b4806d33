import { Redis } from 'ioredis';
import { deleteKeys, REDIS_URL, requireRedis as requireSharedRedis, uniquePrefix as sharedPrefix } from '../helpers/redis';

export { REDIS_URL };

/** Connects to the test Redis or throws: these tests never skip silently. */
export function requireRedis(): Promise<Redis> {
  return requireSharedRedis('cost engine Redis');
}

/** A key prefix unique to this test run. */
export function uniquePrefix(): string {
  return sharedPrefix('cost');
}

/** Deletes every key under `prefix`. */
export const cleanup = deleteKeys;

/** New client for the same Redis (a second "process" within the test). */
export function newClient(): Redis {
  const c = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  return c;
}
