import { describe, expect, it } from 'vitest';
import { callOptions } from '../src/call-options';
import { ResilientClaude } from '../src/client';
import { ConfigError } from '../src/errors/config-error';

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
    ['retry unknown key, not near any', { retry: { backoffStyle: 3 } }, 'retry.backoffStyle'],
    ['retry not an object', { retry: 3 }, 'retry'],
    ['circuitBreaker.failureRatio', { circuitBreaker: { failureRatio: 1.5 } }, 'circuitBreaker.failureRatio'],
    ['circuitBreaker.minimumAttempts', { circuitBreaker: { minimumAttempts: 0 } }, 'circuitBreaker.minimumAttempts'],
    ['circuitBreaker.minimumAttempts above sampleSize', { circuitBreaker: { minimumAttempts: 30 } }, 'circuitBreaker.minimumAttempts'],
    ['circuitBreaker.probeAfterMs', { circuitBreaker: { probeAfterMs: 0 } }, 'circuitBreaker.probeAfterMs'],
    ['circuitBreaker.whenOpen', { circuitBreaker: { whenOpen: 'retry' } }, 'circuitBreaker.whenOpen'],
    ['circuitBreaker.maxWaitMs', { circuitBreaker: { maxWaitMs: -1 } }, 'circuitBreaker.maxWaitMs'],
    ['circuitBreaker.scope', { circuitBreaker: { scope: 'region' } }, 'circuitBreaker.scope'],
    ['maxRetries', { maxRetries: -1 }, 'maxRetries'],
    ['maxRetries (not an integer)', { maxRetries: 1.5 }, 'maxRetries'],
    ['logger.level', { logger: { level: 'verbose' } }, 'logger.level'],
    ['logBodies', { logBodies: 'yes' }, 'logBodies'],
    ['deadline', { deadline: 0 }, 'deadline'],
    ['logger', { logger: 'loud' }, 'logger'],
  ])('rejects a wrong %s with ConfigError naming it', (_name, options, option) => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, ...(options as object) }));
    expect(error.option).toBe(option);
    expect(error.message).toContain(`\`${option}\``);
    expect(error.expected.length).toBeGreaterThan(0);
  });

  it.each([
    ['ratelimit', 'rateLimit'],
    ['circuitbreaker', 'circuitBreaker'],
    ['maxretries', 'maxRetries'],
    ['costs', 'cost'],
    ['rateLimt', 'rateLimit'],
    ['retyr', 'retry'],
    ['METRICS', 'metrics'],
    ['fallbackModel', 'fallbackModels'],
  ])('a top-level %s (case or one edit away from an option) is refused: did you mean %s?', (key, meant) => {
    const error = configErrorOf(() => new ResilientClaude({ ...base, [key]: false } as never));
    expect(error.option).toBe(key);
    expect(error.suggestion).toBe(meant);
    expect(error.message).toBe(`Unknown option \`${key}\`: did you mean \`${meant}\`?`);
  });

  it('other unknown top-level keys pass through to the SDK (new SDK versions add options)', () => {
    expect(() => new ResilientClaude({ ...base, somethingNew: 1, logLevel: 'info', timeout: 5_000 } as never)).not.toThrow();
  });

  it('a misspelled key inside a section gets the same hint; the old breaker names point to the new ones', () => {
    expect(configErrorOf(() => new ResilientClaude({ ...base, retry: { retires: 3 } as never })).suggestion).toBe('retry.retries');
    expect(configErrorOf(() => new ResilientClaude({ ...base, circuitBreaker: { resetTimeoutMs: 5 } as never })).suggestion).toBe(
      'circuitBreaker.probeAfterMs',
    );
  });

  it('budget and ledger keys are checked too: a misspelled one would switch a limit off silently', () => {
    expect(configErrorOf(() => new ResilientClaude({ ...base, cost: { budget: { limitUsd: 1, perUsr: 1 } } as never })).suggestion).toBe(
      'cost.budget.perUser',
    );
    expect(configErrorOf(() => new ResilientClaude({ ...base, cost: { budget: { limit: 1 } } as never })).suggestion).toBe('cost.budget.limitUsd');
    expect(configErrorOf(() => new ResilientClaude({ ...base, cost: { budget: { limitUsd: 1, now: 5 } } as never })).option).toBe('cost.budget.now');
    expect(configErrorOf(() => new ResilientClaude({ ...base, cost: { ledger: { dayBucket: 3 } } as never })).suggestion).toBe('cost.ledger.dayBuckets');
    const client = new ResilientClaude({ ...base, cost: { budget: { limitUsd: 1, perUser: 0.5, window: 'month', warnAt: 0.5, name: 'b' } } });
    expect(client.costs.budget('u')).toMatchObject({ limitUsd: 1, user: { limitUsd: 0.5 } });
  });

  it('a withOptions() child is validated the same way', () => {
    const client = new ResilientClaude(base);
    expect(configErrorOf(() => client.withOptions({ maxRetries: -1 })).option).toBe('maxRetries');
    expect(configErrorOf(() => client.withOptions({ ratelimit: false } as never)).suggestion).toBe('rateLimit');
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

describe('callOptions() validation: at the call of callOptions(), not when the request is made', () => {
  it.each([
    ['priority', { priority: 'high' }],
    ['deadline', { deadline: -1 }],
    ['deadline', { deadline: 0 }],
    ['tags', { tags: 'x' }],
    ['tags', { tags: [''] }],
    ['estimatedOutputTokens', { estimatedOutputTokens: 1.5 }],
    ['user', { user: 42 }],
  ])('a wrong %s throws ConfigError naming resilient.%s', (field, settings) => {
    const error = configErrorOf(() => callOptions(settings as never));
    expect(error.option).toBe(`resilient.${field}`);
  });

  it('a misspelled key gets a hint; an unknown one is refused', () => {
    expect(configErrorOf(() => callOptions({ prority: 1 } as never)).suggestion).toBe('resilient.priority');
    expect(configErrorOf(() => callOptions({ colour: 'red' } as never)).option).toBe('resilient.colour');
  });

  it('good settings are merged with the other request options', () => {
    expect(callOptions({ priority: 2, tags: ['a'], deadline: 5_000 }, { timeout: 1_000 })).toEqual({
      timeout: 1_000,
      resilient: { priority: 2, tags: ['a'], deadline: 5_000 },
    });
  });

  it('settings passed by hand are checked before anything is sent, and the call rejects (it never throws)', async () => {
    let fetched = 0;
    const client = new ResilientClaude({
      ...base,
      fetch: async () => {
        fetched++;
        return new Response('{}');
      },
    });
    const pending = client.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
      { resilient: { priority: 'high' } } as never,
    );
    await expect(pending).rejects.toBeInstanceOf(ConfigError);
    expect(fetched).toBe(0);
  });
});
