import { validateMessageParams } from './validate-params';

/**
 * Whether the SDK's own `create()` / `stream()` would throw synchronously on these params: it
 * destructures them and walks `params.messages` (and each message's `content`) at once, to build a
 * helper header and to seed a stream's history. Anything else the SDK turns into a request, so we do
 * too, and the sanitize layer rejects the returned promise instead.
 */
function sdkCannotRead(params: unknown, method: 'create' | 'stream'): boolean {
  if (params === null || params === undefined) return true;
  const messages = (params as { messages?: unknown }).messages;
  // `create` skips absent messages; `stream` iterates them unconditionally.
  if (messages === null || messages === undefined) return method === 'stream';
  if (typeof messages === 'string') return false;
  if (typeof messages !== 'object' || !(Symbol.iterator in messages)) return true;
  for (const message of messages as Iterable<unknown>) if (message === null || message === undefined) return true;
  return false;
}

/**
 * Wraps `create` and `stream` of a Messages resource (own properties on this instance only) so that
 * params the SDK cannot even read fail with a typed error naming the field, thrown exactly where the
 * SDK would have thrown its bare `TypeError`: synchronously, before any request. For every other input
 * the SDK returns a promise (or a `MessageStream`), and so do we: bad params reject it.
 */
export function guardMessageEntryPoints<T extends object>(resource: T): void {
  for (const key of ['create', 'stream'] as const) {
    const original: unknown = (resource as Record<string, unknown>)[key];
    if (typeof original !== 'function') continue;
    const call = original as (this: T, params: unknown, ...rest: unknown[]) => unknown;
    Object.defineProperty(resource, key, {
      configurable: true,
      writable: true,
      value: function guarded(this: T, params: unknown, ...rest: unknown[]): unknown {
        if (sdkCannotRead(params, key)) validateMessageParams(params);
        return call.call(this, params, ...rest);
      },
    });
  }
}
