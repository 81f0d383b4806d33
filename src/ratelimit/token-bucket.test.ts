import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('is not accounted until configured, and then starts full', () => {
    const b = new TokenBucket(0);
    expect(b.accounted).toBe(false);
    expect(b.covers(1e12)).toBe(true);
    b.configure(100, 0.01, 0);
    expect(b.accounted).toBe(true);
    expect(b.level).toBe(100);
  });

  it('refills continuously up to capacity, never beyond', () => {
    const b = new TokenBucket(0);
    b.configure(100, 0.01, 0); // 10 per second
    b.level = 0;
    b.refill(2500);
    expect(b.level).toBeCloseTo(25, 9);
    b.refill(1_000_000);
    expect(b.level).toBe(100);
  });

  it('ignores a clock going backwards', () => {
    const b = new TokenBucket(1000);
    b.configure(100, 0.01, 1000);
    b.level = 10;
    b.refill(500);
    expect(b.level).toBe(10);
    b.refill(1100);
    expect(b.level).toBeCloseTo(11, 9);
  });

  it('computes the wait for an amount, Infinity without refill, 0 for zero amounts even in debt', () => {
    const b = new TokenBucket(0);
    b.configure(100, 0.01, 0);
    b.level = -50;
    expect(b.waitFor(10)).toBeCloseTo(6000, 6);
    expect(b.waitFor(0)).toBe(0);
    b.refillPerMs = 0;
    expect(b.waitFor(10)).toBe(Infinity);
  });

  it('adjust gives back up to capacity and charges into debt', () => {
    const b = new TokenBucket(0);
    b.configure(100, 0, 0);
    b.adjust(-150, 0);
    expect(b.level).toBe(-50);
    b.adjust(500, 0);
    expect(b.level).toBe(100);
  });

  it('a lower capacity clamps the level; lowerTo only lowers', () => {
    const b = new TokenBucket(0);
    b.configure(100, 0.01, 0);
    b.configure(40, 0.01, 0);
    expect(b.level).toBe(40);
    b.lowerTo(60, 0);
    expect(b.level).toBe(40);
    b.lowerTo(-5, 0);
    expect(b.level).toBe(-5);
  });
});
