import { describe, expect, it } from 'vitest';
import { measureFastPath } from './fast-path-probe';

describe('measureFastPath', () => {
  it('reports a median and a p99 in microseconds (no timing assertion: figures depend on the machine)', () => {
    const r = measureFastPath(2000);
    expect(Number.isFinite(r.medianUs)).toBe(true);
    expect(r.medianUs).toBeGreaterThan(0);
    expect(r.p99Us).toBeGreaterThanOrEqual(r.medianUs);
  });
});
