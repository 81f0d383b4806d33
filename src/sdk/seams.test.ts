import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { checkSdk, isSupportedSdkVersion, missingSeam } from './seams';

const helpers = { isFetchOriginError: () => false, isRetryableError: () => false };

/** A stand-in for a future SDK's client prototype: the real one, with one change. */
function sdkWith(change: (proto: Record<string, unknown>) => void): object {
  const proto = Object.create(Anthropic.prototype) as Record<string, unknown>;
  change(proto);
  return proto;
}

describe('SDK seams', () => {
  it('the installed SDK has every seam, and is in the tested range', () => {
    expect(missingSeam(Anthropic.prototype, helpers)).toBeUndefined();
    expect(checkSdk().supported).toBe(true);
  });

  it('names a method that is gone', () => {
    expect(missingSeam(sdkWith((p) => (p.fetchWithTimeout = undefined)), helpers)).toBe('Anthropic.prototype.fetchWithTimeout');
    expect(missingSeam(sdkWith((p) => (p.backendMiddleware = 'renamed')), helpers)).toBe('Anthropic.prototype.backendMiddleware');
  });

  it('names a request path that no longer goes through a seam (the layers would be bypassed)', () => {
    const proto = sdkWith((p) => {
      p.makeRequest = async function makeRequest(this: { sendDirectly(): Promise<Response> }) {
        return this.sendDirectly();
      };
    });
    expect(missingSeam(proto, helpers)).toBe('Anthropic.prototype.makeRequest calling fetchWithTimeout()');
  });

  it('names a helper the retry classification imports', () => {
    expect(missingSeam(Anthropic.prototype, { ...helpers, isRetryableError: undefined })).toBe(
      '@anthropic-ai/sdk/core/middleware isRetryableError()',
    );
  });

  it.each([
    ['1.14.0', true],
    ['1.16.0', true],
    ['1.30.2', true],
    ['1.13.9', false],
    ['2.0.0', false],
    ['0.120.0', false],
  ])('version %s in the tested range: %s', (version, supported) => {
    expect(isSupportedSdkVersion(version)).toBe(supported);
  });
});
