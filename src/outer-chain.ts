import { isJson } from './util/http';
import type { FinalRequestOptions, Middleware, MiddlewareContext, MiddlewareNext, SdkLogger } from './sdk-types';

/**
 * Composes the per-call layers around `terminal` (one HTTP attempt through the SDK's own middleware
 * chain). Same contract as the SDK's middleware — element 0 is outermost, `next` may be called any number
 * of times — but errors are not re-branded: what a layer throws reaches the SDK exactly as thrown.
 */
export function composeLayers(layers: readonly Middleware[], terminal: MiddlewareNext, ctx: MiddlewareContext): MiddlewareNext {
  let next = terminal;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const inner = next;
    next = (request) => layer(request, inner, ctx);
  }
  return next;
}


/**
 * The context the per-call layers see. `parse` reads JSON (or text) bodies through a clone, cached per
 * `Response`, so the body stays readable for the SDK; it never parses streams.
 */
export function createLayerContext(options: FinalRequestOptions, logger: SdkLogger): MiddlewareContext {
  // Made on first use: most calls never parse a body here.
  let cache: WeakMap<Response, Promise<unknown>> | undefined;
  return {
    options,
    logger,
    parse<T>(response: Response): Promise<T> {
      cache ??= new WeakMap();
      let parsed = cache.get(response);
      if (!parsed) {
        parsed = response.status === 204 ? Promise.resolve(null) : isJson(response) ? response.clone().json() : response.clone().text();
        cache.set(response, parsed);
      }
      return parsed as Promise<T>;
    },
  };
}
