import { describe, expect, it } from 'vitest';
import { ResilientClaude } from './client';
import { ConfigError } from './errors/config-error';

function configErrorOf(build: () => unknown): ConfigError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const base = { apiKey: 'test-key', logger: false as const };

describe('option validation', () => {
  it.each([
    ['retry.retries', { retry: { retries: -2 } }, 'retry.retries'],
    ['retry.baseDelayMs', { retry: { baseDelayMs: 'fast' } }, 'retry.baseDelayMs'],
    ['retry.maxDelayMs', { retry: { maxDelayMs: Number.NaN } }, 'retry.maxDelayMs'],
    ['retry.maxRetryAfterMs', { retry: { maxRetryAfterMs: -1 } }, 'retry.maxRetryAfterMs'],
    ['retry.jitter', { retry: { jitter: 'yes' } }, 'retry.jitter'],
    ['retry unknown key', { retry: { retires: 3 } }, 'retry.retires'],
    ['retry not an object', { retry: 3 }, 'retry'],
    ['circuitBreaker.errorThresholdPercentage', { circuitBreaker: { errorThresholdPercentage: 0 } }, 'circuitBreaker.errorThresholdPercentage'],
    ['circuitBreaker.volumeThreshold', { circuitBreaker: { volumeThreshold: -1 } }, 'circuitBreaker.volumeThreshold'],
    ['circuitBreaker.resetTimeoutMs', { circuitBreaker: { resetTimeoutMs: 0 } }, 'circuitBreaker.resetTimeoutMs'],
    ['circuitBreaker.scope', { circuitBreaker: { scope: 'region' } }, 'circuitBreaker.scope'],
    ['deadline', { deadline: 0 }, 'deadline'],
    ['logger', { logger: 'loud' }, 'logger'],
  ])('rejects a wrong %s with ConfigError naming it', (_name, options, option) => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, ...(options as object) }));
    expect(error.option).toBe(option);
    expect(error.message).toContain(`\`${option}\``);
    expect(error.expected.length).toBeGreaterThan(0);
  });

  it('leaves maxRetries to the SDK, which rejects a bad value with its own error', () => {
    expect(() => new ResilientClaude({ ...base, maxRetries: -1 })).toThrow(/maxRetries must be/);
    expect(() => new ResilientClaude({ ...base, maxRetries: 1.5 })).toThrow(/maxRetries must be/);
  });

  it.each([
    ['sanitize.onSuspicious', { sanitize: { onSuspicious: 'shout' } }],
    ['sanitize.maxInputChars', { sanitize: { maxInputChars: -5 } }],
    ['sanitize.patterns', { sanitize: { patterns: ['ignore'] } }],
    ['cost.budget.limitUsd', { cost: { budget: { limitUsd: 0 } } }],
    ['cost.budget.window', { cost: { budget: { limitUsd: 5, window: 'week' } } }],
    ['cost.prices', { cost: { prices: 'cheap' } }],
    ['redis', { redis: 42 }],
    ['redis', { redis: 'localhost:6379' }],
    ['onRedisError', { onRedisError: 'panic' }],
    ['retry.firstContentTimeoutMs', { retry: { firstContentTimeoutMs: -1 } }],
  ])('rejects a wrong %s with ConfigError naming it', (option, options) => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, ...(options as object) }));
    expect(error.option).toBe(option);
  });

  it('rejects maxRetries and retry.retries that disagree', () => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, maxRetries: 2, retry: { retries: 5 } }));
    expect(error.option).toBe('retry.retries');
  });

  it('treats retry.retries as maxRetries', () => {
    expect(new ResilientClaude({ ...base, retry: { retries: 5 } }).maxRetries).toBe(5);
    expect(new ResilientClaude({ ...base, maxRetries: 4 }).maxRetries).toBe(4);
    expect(new ResilientClaude(base).maxRetries).toBe(2);
  });

  it('never puts the bad value itself in the message (it could be a secret)', () => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, logger: 'sk-ant-secret-value' as never }));
    expect(error.message).not.toContain('sk-ant-secret-value');
  });

  it('accepts false for every layer', () => {
    expect(() => new ResilientClaude({ ...base, retry: false, circuitBreaker: false, logger: false })).not.toThrow();
  });
});
