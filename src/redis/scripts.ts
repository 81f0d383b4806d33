import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/** A Lua script, with the SHA-1 Redis caches it under. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** Wraps a Lua source for {@link runScript}. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs `script` with EVALSHA, and with EVAL when Redis answers `NOSCRIPT` (after a restart or `SCRIPT
 * FLUSH`), which caches it again: the common case sends 40 bytes, never the script.
 */
export async function runScript(client: Redis, script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script.source, keys.length, ...keys, ...args);
    throw error;
  }
}

/** Raised when Redis does not answer within a command deadline. */
export class RedisNoAnswerError extends Error {
  /** @param ms - The deadline that passed. */
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisNoAnswerError';
  }
}

/**
 * `promise`, or a {@link RedisNoAnswerError} once `ms` have passed: a Redis that stops answering is a
 * failure the caller handles (fall back, or fail), never a call that stalls. A late failure of
 * `promise` after the deadline is swallowed, never unhandled.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisNoAnswerError(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
