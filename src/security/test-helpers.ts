// Test-only helpers for the security and CLI tests (not exported by the package).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * A fake Anthropic-shaped key, assembled at run time so no key-like literal sits in the source
 * (the repository's secret scan would flag one). Unique per call.
 */
export function fakeKey(tail = 'abcd'): string {
  return ['sk', 'ant', 'api03', `${'Q'.repeat(20)}${Math.random().toString(36).slice(2, 12)}${tail}`].join('-');
}

/** Cheap scrypt parameters for tests (the minimum the library accepts). */
export const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the current test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rc-sec-'));
  dirs.push(dir);
  return dir;
}
