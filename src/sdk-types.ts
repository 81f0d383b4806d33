/**
 * The SDK types the library builds on, gathered in one place. `internal/*` modules of the SDK are not
 * importable, so the aliases are derived from its public exports.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ClientOptions } from '@anthropic-ai/sdk';

export type { APIRequest, ClientOptions, Middleware, MiddlewareContext, MiddlewareNext } from '@anthropic-ai/sdk';

/** The SDK's per-request options (`Anthropic.RequestOptions`). */
export type RequestOptions = Anthropic.RequestOptions;
/** Per-request options after the SDK resolved method and path: what middleware sees as `ctx.options`. */
export type FinalRequestOptions = Anthropic.FinalRequestOptions;
/** The SDK's logger interface (`{ error, warn, info, debug }`). */
export type SdkLogger = NonNullable<ClientOptions['logger']>;
