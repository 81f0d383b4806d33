/**
 * A future SDK without a seam the layers plug into must fail construction loudly, naming the SDK version
 * and the seam — never construct a client whose layers are silently bypassed.
 */
import Anthropic from '@anthropic-ai/sdk';
import { VERSION } from '@anthropic-ai/sdk/version';
import { afterEach, expect, test, vi } from 'vitest';

const base = Object.getPrototypeOf(Anthropic.prototype) as Record<string, unknown>;
const original = base.fetchWithTimeout;

afterEach(() => {
  base.fetchWithTimeout = original;
  vi.resetModules();
});

test('an SDK whose fetchWithTimeout is gone: construction throws SdkCompatibilityError naming version and seam', async () => {
  base.fetchWithTimeout = undefined;
  vi.resetModules();
  const { ResilientClaude, SdkCompatibilityError } = await import('../../src');
  let error: unknown;
  try {
    new ResilientClaude({ apiKey: 'sk-test', logger: false });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SdkCompatibilityError);
  expect(error).toMatchObject({ sdkVersion: VERSION, seam: 'Anthropic.prototype.fetchWithTimeout', code: 'SDK_INCOMPATIBLE' });
  expect((error as Error).message).toContain(`@anthropic-ai/sdk ${VERSION}`);
});
