import { callState, type CallState } from '../call-state';
import type { KeyPool } from '../keys/key-pool';
import type { KeyQuarantinedEvent } from '../keys/types';
import type { LogSink } from '../logging';
import type { APIRequest, Middleware } from '../sdk-types';
import { attemptStreams } from './attempt';
import { isEventStream } from '../util/http';

/** Dependencies of the keys layer. */
export interface KeysLayerDeps {
  /** Where quarantines (warn) and key picks (debug) are logged — by alias only. */
  readonly log?: LogSink;
  /** Called when a key is newly quarantined (the client emits its `keyQuarantined` event from here). */
  readonly onKeyQuarantined?: (event: KeyQuarantinedEvent) => void;
}

/**
 * The call state with the field this layer fills: the alias of the key the current attempt uses. Until
 * `CallState` declares `keyAlias` itself, it is read through {@link keyAliasOf}.
 */
type KeyedState = CallState;

/** The alias of the key the call's latest attempt used, for breaker / rate-limit scopes and records. */
export function keyAliasOf(state: CallState): string | undefined {
  return (state as KeyedState).keyAlias;
}

const AUTH_FAILURE_REASONS: Readonly<Record<number, string>> = { 401: 'authentication_error', 403: 'permission_error' };
/** Statuses after which the next attempt of the call prefers another key. */
const AVOID_NEXT = new Set([429, 529]);
const AUTH_HEADERS = new Set(['authorization', 'x-api-key']);

/** Whether the caller set (or explicitly removed) an auth header on this one request: then the pool stays out. */
function hasExplicitAuth(headers: unknown): boolean {
  if (headers === null || headers === undefined || typeof headers !== 'object') return false;
  if (headers instanceof Headers) return [...AUTH_HEADERS].some((name) => headers.has(name));
  if (Array.isArray(headers)) {
    return headers.some((row: unknown) => Array.isArray(row) && typeof row[0] === 'string' && AUTH_HEADERS.has(row[0].toLowerCase()));
  }
  const nullable = headers as { values?: unknown; nulls?: unknown };
  if (nullable.values instanceof Headers && nullable.nulls instanceof Set) {
    return hasExplicitAuth(nullable.values) || [...(nullable.nulls as Set<unknown>)].some((n) => typeof n === 'string' && AUTH_HEADERS.has(n));
  }
  return Object.keys(headers).some((name) => AUTH_HEADERS.has(name.toLowerCase()));
}

/** A body that can be sent again as is (strings, buffers, form data); streams cannot. */
function isReplayable(body: APIRequest['body']): boolean {
  if (body === null || body === undefined || typeof body === 'string') return true;
  if (body instanceof ReadableStream) return false;
  return !(typeof body === 'object' && (Symbol.asyncIterator in body || Symbol.iterator in body));
}


/**
 * Keys layer (opt-in through `apiKeys`): runs per HTTP attempt, before the rate limiter and the breaker.
 *
 * - Picks the attempt's key from the pool and sends it as `Authorization: Bearer <key>` (the header the
 *   SDK uses for `apiKey`), replacing the client's default key; `x-api-key` is removed. A request that
 *   sets `authorization` or `x-api-key` itself (per-request `headers`) is left alone.
 * - Records the alias on the call state (`keyAlias`, read with {@link keyAliasOf}) and in
 *   `state.notes.keyAlias` (so it is in the call record).
 * - 401/403 from a pooled key: the key is quarantined (logged and reported by alias), and the same
 *   attempt moves on to another key at once — no backoff, no retry budget used — so the call succeeds
 *   if any key works. When every key is quarantined the call fails with `NoUsableKeyError`, without
 *   sending. Each extra send counts in `state.tries.attempts`.
 * - 429/529: the next attempt of the call prefers another key.
 * - In-flight accounting (for `least_loaded`): a request counts until its response arrives, a stream
 *   until its body has arrived in full (or failed, or was cancelled), as the attempt layer's stream tap reports it.
 *   A stream body nobody reads or cancels keeps its key counted.
 *
 * The key text never reaches a log line, event, error, snapshot or metric label.
 */
export function createKeysLayer(pool: KeyPool, deps: KeysLayerDeps = {}): Middleware {
  const { log } = deps;
  const avoidNext = new WeakMap<CallState, string>();

  function onAuthFailure(state: CallState, alias: string, status: number): void {
    const reason = AUTH_FAILURE_REASONS[status] ?? 'auth_failure';
    if (!pool.quarantine(alias, reason, { status })) return;
    const event: KeyQuarantinedEvent = {
      alias,
      status,
      reason,
      until: pool.quarantinedUntil(alias) ?? null,
      at: Date.now(),
      callId: state.id,
    };
    log?.log('warn', { callId: state.id, keyAlias: alias, status, reason, until: event.until }, `API key ${alias} quarantined after HTTP ${status}`);
    try {
      deps.onKeyQuarantined?.(event);
    } catch (error) {
      log?.log('error', { callId: state.id, error: error instanceof Error ? error.name : 'Error' }, 'keyQuarantined handler threw');
    }
  }

  return async function keys(request, next, ctx) {
    const state = callState(ctx);
    if (!state || hasExplicitAuth(ctx.options?.headers)) return next(request);
    let avoid = avoidNext.get(state);
    avoidNext.delete(state);
    const replayable = isReplayable(request.body);

    for (let sends = 1; ; sends++) {
      const picked = pool.pick(avoid === undefined ? {} : { avoid }); // throws NoUsableKeyError
      const alias = picked.alias;
      if (sends > 1) state.tries.attempts++;
      (state as KeyedState).keyAlias = alias;
      state.notes.keyAlias = alias;
      if (log?.enabled('debug')) log.log('debug', { callId: state.id, keyAlias: alias, ...(avoid ? { avoided: avoid } : {}) }, 'API key selected');

      const headers = new Headers(request.headers);
      headers.delete('x-api-key');
      headers.set('authorization', `Bearer ${picked.key}`);
      pool.acquire(alias);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        pool.release(alias);
      };

      let response: Response;
      try {
        response = await next({ ...request, headers });
      } catch (error) {
        release();
        throw error;
      }

      const status = response.status;
      if (status === 401 || status === 403) {
        release();
        onAuthFailure(state, alias, status);
        const aborted = request.signal?.aborted === true || state.timing.signal?.aborted === true || ctx.options?.signal?.aborted === true;
        if (!replayable || aborted) return response;
        if (sends >= pool.size) {
          // Every key had its turn in this attempt (keys came back meanwhile): report what is left.
          pool.assertUsable();
          return response;
        }
        state.notes.keyFailovers = ((state.notes.keyFailovers as number | undefined) ?? 0) + 1;
        await response.body?.cancel().catch(() => undefined);
        avoid = undefined;
        continue;
      }
      if (AVOID_NEXT.has(status)) avoidNext.set(state, alias);

      const streamDone =
        state.stream && response.ok
          ? (attemptStreams.get(response)?.result ?? (isEventStream(response) ? state.streaming.lastAttempt : undefined))
          : undefined;
      if (streamDone) void streamDone.then(release, release);
      else release();
      return response;
    }
  };
}
