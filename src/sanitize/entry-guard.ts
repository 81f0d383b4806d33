import { validateMessageParams } from './validate-params';

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Throws the same `InputRejectedError` the sanitize layer would, for the one kind of malformed params
 * the SDK itself trips over before any middleware runs: `messages.create()` and `messages.stream()` walk
 * `params.messages` synchronously (to build a helper header, to seed the stream's history), so a
 * missing `messages` or a `null` message surfaces as a bare `TypeError` from SDK internals. Well-formed
 * params cost one `Array.isArray` and a loop of type checks here; everything else is still validated by
 * the layer, once per call.
 */
function rejectShapeTheSdkCannotRead(params: unknown): void {
  if (!isDict(params)) return;
  const messages = params['messages'];
  if (Array.isArray(messages) && messages.every(isDict)) return;
  validateMessageParams(params);
}

/**
 * Wraps `create` and `stream` of a Messages resource (own properties on this instance only) so that
 * params the SDK cannot even read fail with a typed error naming the field, thrown where the SDK would
 * have thrown its `TypeError`: synchronously, before any request.
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
        rejectShapeTheSdkCannotRead(params);
        return call.call(this, params, ...rest);
      },
    });
  }
}
