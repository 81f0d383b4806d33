import { APIError } from '@anthropic-ai/sdk';
import type { ErrorType } from '@anthropic-ai/sdk/resources/shared';

/**
 * What SDK 1.17+ gives every `APIError` besides the response: the request's method and URL (its path
 * then appears in the message, and as `error.request`). Earlier SDKs take no such argument and ignore
 * it, so passing it is always safe; errors we build for the SDK then read exactly as its own.
 */
export interface SdkErrorOptions {
  readonly request: { readonly method: string; readonly url: string };
}

/**
 * The options the SDK would build for a request: `method` as the client has it (e.g. `post`), and the
 * URL's origin and path from `response.url` when set (where a redirect led) with the query of the URL
 * the client built — never `response.url`'s, where a custom fetch can put a secret.
 */
export function sdkErrorOptions(method: string, requestUrl: string, response?: Response): SdkErrorOptions | undefined {
  try {
    const { origin, pathname } = new URL(response?.url || requestUrl, requestUrl);
    return { request: { method, url: origin + pathname + new URL(requestUrl).search } };
  } catch {
    return undefined;
  }
}

type ApiErrorConstructor = new (
  status: number | undefined,
  error: object | undefined,
  message: string | undefined,
  headers: Headers | undefined,
  type?: ErrorType,
  options?: SdkErrorOptions,
) => APIError;

/** The SDK's own error for a mid-stream SSE `error` event: a base `APIError` without status. */
export function sseEventError(payload: unknown, headers: Headers, options: SdkErrorOptions | undefined): APIError {
  const type = (payload as { error?: { type?: unknown } } | undefined)?.error?.type;
  const Constructor = APIError as unknown as ApiErrorConstructor;
  return new Constructor(undefined, payload as object, undefined, headers, typeof type === 'string' ? (type as ErrorType) : undefined, options);
}
