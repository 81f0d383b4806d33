import { describe, expect, it } from 'vitest';
import { deriveWindowMs, parseRateLimitHeaders, roundingGranularity } from './header-sync';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('parseRateLimitHeaders', () => {
  it('reads every bucket, converting reset to the local clock', () => {
    const h = new Headers({
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2026-01-01T12:00:02Z',
      'anthropic-ratelimit-input-tokens-limit': '40000',
      'anthropic-ratelimit-input-tokens-remaining': '39000',
      'anthropic-ratelimit-input-tokens-reset': '2026-01-01T12:00:01.500Z',
      'anthropic-ratelimit-output-tokens-limit': '8000',
      'anthropic-ratelimit-output-tokens-remaining': '8000',
      'anthropic-ratelimit-output-tokens-reset': '2026-01-01T12:00:00Z',
      'anthropic-ratelimit-tokens-limit': '8000',
      'anthropic-ratelimit-tokens-remaining': '8000',
      'anthropic-ratelimit-tokens-reset': '2026-01-01T12:00:00Z',
    });
    const p = parseRateLimitHeaders(h, NOW);
    expect(p.requests).toEqual({ limit: 50, remaining: 49, resetMs: NOW + 2000, resetUncertaintyMs: 1000 });
    expect(p.inputTokens).toEqual({ limit: 40_000, remaining: 39_000, resetMs: NOW + 1500, resetUncertaintyMs: 0 });
    expect(p.outputTokens?.limit).toBe(8000);
    expect(p.tokens?.limit).toBe(8000);
    expect(p.skewMs).toBe(0);
    expect(p.usedDateHeader).toBe(false);
    expect(p.retryAfterMs).toBeUndefined();
  });

  it('uses the date header for skew: reset is converted from the server clock', () => {
    const server = NOW - 3_600_000; // server an hour behind the local clock
    const h = new Headers({
      date: new Date(server).toUTCString(),
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '20',
      'anthropic-ratelimit-requests-reset': new Date(server + 30_000).toISOString().replace('.000Z', 'Z'),
    });
    const p = parseRateLimitHeaders(h, NOW);
    expect(p.usedDateHeader).toBe(true);
    expect(p.skewMs).toBe(-3_600_000 + 500);
    // 30 s after the server's date, minus the half second the date's truncation is assumed to hide.
    expect(p.requests?.resetMs).toBe(NOW + 29_500);
    expect(p.requests?.resetUncertaintyMs).toBe(1500);
  });

  it('reads names in any case, ignores look-alike names, and takes repeated headers as get() joins them', () => {
    const h = new Headers([
      ['Anthropic-RateLimit-Requests-Limit', '50'],
      ['ANTHROPIC-RATELIMIT-REQUESTS-REMAINING', '7'],
      ['anthropic-ratelimit-images-limit', '9'],
      ['anthropic-ratelimit-requests-limit-extra', '1'],
      ['anthropic-ratelimit-', '1'],
      ['anthropic-ratelimit-__proto__-limit', '1'],
      ['anthropic-ratelimit-constructor-remaining', '1'],
      ['anthropic-ratelimit-tokens-remaining', '5'],
      ['anthropic-ratelimit-tokens-remaining', '6'],
      ['anthropic-ratelimit-tokens-limit', '10'],
    ]);
    const p = parseRateLimitHeaders(h, NOW);
    expect(p.requests).toEqual({ limit: 50, remaining: 7, resetMs: undefined, resetUncertaintyMs: 0 });
    // "5, 6" is what get() returns for a repeated header: not a number, so the bucket is left out.
    expect(p.tokens).toBeUndefined();
    expect(Object.keys(p).sort()).toEqual(['requests', 'retryAfterMs', 'skewMs', 'usedDateHeader']);
    expect(({} as Record<string, unknown>)['limit']).toBeUndefined();
  });

  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    expect(parseRateLimitHeaders(new Headers({ 'retry-after-ms': '1234.5', 'retry-after': '9' }), NOW).retryAfterMs).toBe(1234.5);
    expect(parseRateLimitHeaders(new Headers({ 'retry-after': '7' }), NOW).retryAfterMs).toBe(7000);
    const at = new Date(NOW + 20_000).toUTCString();
    expect(parseRateLimitHeaders(new Headers({ 'retry-after': at }), NOW).retryAfterMs).toBe(20_000);
  });

  it('drops malformed buckets and clamps remaining to limit', () => {
    const p = parseRateLimitHeaders(
      new Headers({
        'anthropic-ratelimit-requests-limit': 'lots',
        'anthropic-ratelimit-requests-remaining': '3',
        'anthropic-ratelimit-output-tokens-limit': '100',
        'anthropic-ratelimit-output-tokens-remaining': '250',
        'anthropic-ratelimit-output-tokens-reset': 'soon',
      }),
      NOW,
    );
    expect(p.requests).toBeUndefined();
    expect(p.outputTokens).toEqual({ limit: 100, remaining: 100, resetMs: undefined, resetUncertaintyMs: 0 });
  });
});

describe('deriveWindowMs', () => {
  it('keeps the previous window for a full bucket or a reset in the past', () => {
    expect(deriveWindowMs(60_000, 1000, 1000, 5000, 0)).toBe(60_000);
    expect(deriveWindowMs(60_000, 1000, 100, -5, 0)).toBe(60_000);
  });

  it('learns a faster refill from a precise sample, at the conservative end', () => {
    // 900 missing, full in 30 s exactly → 30 per second; low end (900 − 1) / 30 s.
    const w = deriveWindowMs(60_000, 1000, 100, 30_000, 0);
    expect(1000 / w).toBeCloseTo(899 / 30_000, 12);
  });

  it('keeps the current rate when it lies inside the sample interval', () => {
    // 1000 per minute → 600 missing refill in 36 s; the reset is only known to the second.
    expect(deriveWindowMs(60_000, 1000, 400, 36_000, 1000)).toBe(60_000);
  });

  it('ignores imprecise samples (small deficits, short resets, rounded remaining)', () => {
    expect(deriveWindowMs(60_000, 50, 49, 1200, 1000)).toBe(60_000);
    expect(deriveWindowMs(60_000, 400_000, 399_000, 150, 1000)).toBe(60_000);
  });

  it('guesses rounding from multiples of 1000 on large buckets', () => {
    expect(roundingGranularity(400_000, 12_000)).toBe(1000);
    expect(roundingGranularity(400_000, 12_345)).toBe(1);
    expect(roundingGranularity(5000, 1000)).toBe(1);
  });
});
