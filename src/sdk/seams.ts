import Anthropic from '@anthropic-ai/sdk';
import { isFetchOriginError, isRetryableError } from '@anthropic-ai/sdk/core/middleware';
import { VERSION } from '@anthropic-ai/sdk/version';
import { SdkCompatibilityError } from '../errors/sdk-compatibility-error';

/** The `@anthropic-ai/sdk` versions this release is tested against (CI runs the lowest and the newest). */
export const SUPPORTED_SDK_RANGE = '>=1.14.0 <2';

/** Methods of the SDK client this library overrides or calls; each must exist. */
const METHODS = ['fetchWithTimeout', 'backendMiddleware', 'makeStatusError', 'request', 'requestAPIList', 'withOptions'] as const;

/**
 * Calls inside the SDK that route every request through our seams: the request loop must send through
 * `fetchWithTimeout` (where the per-call layers run), which must apply `backendMiddleware()` (where the
 * per-request layers run). A future SDK that routes around either would bypass the layers silently.
 */
const CALLS: readonly (readonly [caller: string, callee: string])[] = [
  ['makeRequest', 'fetchWithTimeout('],
  ['fetchWithTimeout', 'backendMiddleware('],
];

/** The seam that is missing from `proto` (an SDK client prototype), if any. */
export function missingSeam(proto: object, helpers: Readonly<Record<string, unknown>>): string | undefined {
  const methods = proto as Record<string, unknown>;
  for (const name of METHODS) {
    if (typeof methods[name] !== 'function') return `Anthropic.prototype.${name}`;
  }
  for (const [caller, callee] of CALLS) {
    const source = typeof methods[caller] === 'function' ? Function.prototype.toString.call(methods[caller]) : '';
    if (!source.includes(callee)) return `Anthropic.prototype.${caller} calling ${callee.slice(0, -1)}()`;
  }
  for (const [name, value] of Object.entries(helpers)) {
    if (typeof value !== 'function') return `@anthropic-ai/sdk/core/middleware ${name}()`;
  }
  return undefined;
}

/** Whether `version` is in {@link SUPPORTED_SDK_RANGE} (1.x from 1.14.0). */
export function isSupportedSdkVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major === 1 && minor >= 14;
}

let checked: { readonly version: string; readonly supported: boolean } | undefined;

/**
 * Checks once per process that the installed SDK has every seam the layers plug into; throws
 * {@link SdkCompatibilityError} naming the version and the seam when one is missing. Returns the version
 * and whether it is in the tested range (outside it the client works, and warns once).
 */
export function checkSdk(): { readonly version: string; readonly supported: boolean } {
  if (checked) return checked;
  const seam = missingSeam(Anthropic.prototype, { isFetchOriginError, isRetryableError });
  if (seam !== undefined) throw new SdkCompatibilityError(VERSION, seam, SUPPORTED_SDK_RANGE);
  checked = { version: VERSION, supported: isSupportedSdkVersion(VERSION) };
  return checked;
}
