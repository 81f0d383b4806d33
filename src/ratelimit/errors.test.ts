import { describe, expect, it } from 'vitest';
import { RateLimitCapacityError } from '../errors/rate-limit-capacity-error';
import { RateLimitQueueFullError } from '../errors/rate-limit-queue-full-error';
import { RateLimitWaitExceededError } from '../errors/rate-limit-wait-exceeded-error';
import { ResilientClaudeError } from '../errors/resilient-claude-error';
import { RateLimiterClosedError, RateLimitStoreUnavailableError } from './errors';

// The SDK treats any error whose text matches this as a retryable transport timeout.
const SDK_TIMEOUT_HEURISTIC = /timed? ?out/i;

describe('rate-limit errors', () => {
  const reasons = ['requests', 'inputTokens', 'outputTokens', 'concurrency', 'pause', 'queue'] as const;
  const errors: ResilientClaudeError[] = [
    new RateLimitQueueFullError('claude-opus', 1000, 1000, 1234.2),
    new RateLimitQueueFullError('s', 3, 3),
    ...reasons.map((r) => new RateLimitWaitExceededError('time', r, 5000, 5000, 7, 250)),
    ...(['requests', 'inputTokens', 'outputTokens'] as const).map((d) => new RateLimitCapacityError('s', d, 300_000, 200_000)),
    new RateLimiterClosedError('s'),
    new RateLimitStoreUnavailableError('s', new Error('Command timed out')),
  ];

  it('never match the SDK timeout heuristic, by name, message or String()', () => {
    for (const e of errors) {
      expect(String(e)).not.toMatch(SDK_TIMEOUT_HEURISTIC);
      expect(e.name).not.toMatch(SDK_TIMEOUT_HEURISTIC);
      expect((e as Error & { cause?: unknown }).cause).toBeUndefined();
    }
  });

  it('extend ResilientClaudeError with stable codes and the facts a handler needs', () => {
    for (const e of errors) expect(e).toBeInstanceOf(ResilientClaudeError);
    expect(errors[0]).toMatchObject({ code: 'RATE_LIMIT_QUEUE_FULL', name: 'RateLimitQueueFullError', scope: 'claude-opus', queueDepth: 1000, retryAfterMs: 1235 });
    expect(errors[1]).toMatchObject({ retryAfterMs: undefined });
    expect(errors[2]).toMatchObject({ code: 'RATE_LIMIT_WAIT_EXCEEDED', waitingFor: 'requests', maxWaitMs: 5000, queueDepth: 7, retryAfterMs: 250 });
    expect(new RateLimitCapacityError('s', 'inputTokens', 3, 2)).toMatchObject({ code: 'RATE_LIMIT_CAPACITY', dimension: 'inputTokens', requested: 3, capacity: 2 });
    expect(new RateLimitStoreUnavailableError('s', 'x')).toMatchObject({ code: 'RATE_LIMIT_STORE_UNAVAILABLE', lastError: 'x' });
  });
});
