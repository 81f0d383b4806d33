import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { EnforcedSpendLimitReachedError } from '@anthropic-ai/sdk/resources/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../src/errors/deadline-exceeded-error';
import type { RetryEvent } from '../src/events';
import { faults, type FaultSpec } from '../src/testing';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

describe('retried conditions', () => {
  const retryable: [string, FaultSpec][] = [
    ['529 overloaded', faults.overloaded()],
    ['500', faults.serverError(500)],
    ['502', faults.serverError(502)],
    ['503', faults.unavailable()],
    ['504', faults.gatewayTimeout()],
    ['408', faults.requestTimeout()],
    ['409', faults.conflict()],
    ['429 rate limit', faults.rateLimited({ retryAfterMs: 1 })],
    ['connection reset', faults.reset()],
  ];

  it.each(retryable)('%s is retried until it succeeds', async (_name, fault) => {
    const client = env.client();
    env.server.schedule(fault, fault);
    const message = await client.messages.create(params);
    expect(message.type).toBe('message');
    const sent = messageRequests(env.server);
    expect(sent).toHaveLength(3);
    // Each attempt says which it is, like the SDK's own retries.
    expect(sent.map((r) => r.retryCount)).toEqual([0, 1, 2]);
  });

  it('a per-attempt timeout (hang) is retried', async () => {
    const client = env.client({ timeout: 150 });
    env.server.schedule(faults.hang());
    const message = await client.messages.create(params);
    expect(message.type).toBe('message');
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('slow headers beyond the timeout are retried', async () => {
    const client = env.client({ timeout: 150 });
    env.server.schedule(faults.slowHeaders(2_000));
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(messageRequests(env.server)).toHaveLength(2);
  });
});

describe('never retried', () => {
  const final: [string, FaultSpec, new (...args: never[]) => Error][] = [
    ['400', faults.badRequest('bad'), BadRequestError],
    ['401', faults.unauthorized(), AuthenticationError],
    ['403', faults.forbidden(), PermissionDeniedError],
    ['404', faults.notFound(), NotFoundError],
    ['413', faults.tooLarge(), APIError],
    ['422', faults.status(422, 'invalid_request_error'), APIError],
    ['402', faults.status(402, 'billing_error'), APIError],
    ['429 spend limit', faults.spendLimit(), EnforcedSpendLimitReachedError],
  ];

  it.each(final)('%s fails at once with the SDK error', async (_name, fault, errorClass) => {
    const client = env.client();
    env.server.schedule(fault);
    const error = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    expect(messageRequests(env.server)).toHaveLength(1);
  });
});

describe('final failure', () => {
  it('returns the SDK typed error with the request id of the last attempt', async () => {
    const client = env.client({ maxRetries: 2 });
    env.server.schedule(faults.overloaded(), faults.overloaded(), faults.overloaded());
    const error = (await client.messages.create(params).catch((e: unknown) => e)) as OverloadedError;
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error.status).toBe(529);
    const sent = messageRequests(env.server);
    expect(sent).toHaveLength(3);
    expect(error.requestID).toBe(sent[2]!.requestId);
  });

  it('connection failures end as APIConnectionError after the retries', async () => {
    const client = env.client({ maxRetries: 1 });
    env.server.schedule(faults.reset(), faults.reset());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(APIConnectionError);
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('timeouts end as APIConnectionTimeoutError after the retries', async () => {
    const client = env.client({ maxRetries: 1, timeout: 100 });
    env.server.schedule(faults.hang(), faults.hang());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('per-request maxRetries is the budget for that call', async () => {
    const client = env.client({ maxRetries: 5 });
    env.server.schedule(faults.overloaded(), faults.overloaded());
    await expect(client.messages.create(params, { maxRetries: 1 })).rejects.toBeInstanceOf(OverloadedError);
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('retry: false sends exactly once', async () => {
    const client = env.client({ retry: false });
    env.server.schedule(faults.overloaded());
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(InternalServerError);
    expect(messageRequests(env.server)).toHaveLength(1);
  });
});

describe('x-should-retry', () => {
  it('true makes a 400 retryable', async () => {
    const client = env.client();
    env.server.schedule(faults.badRequest('try again', { headers: { 'x-should-retry': 'true' } }));
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('false stops a 529 from being retried', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded({ headers: { 'x-should-retry': 'false' } }));
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(OverloadedError);
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('409 is retried (lock conflicts clear)', async () => {
    const client = env.client();
    env.server.schedule(faults.conflict());
    await expect(client.messages.create(params)).resolves.toBeDefined();
    expect(messageRequests(env.server)[0]!.status).toBe(409);
    expect(new ConflictError(409, undefined, undefined, new Headers()).status).toBe(409);
  });
});

describe('server hints', () => {
  it('waits as long as retry-after-ms says', async () => {
    const client = env.client();
    const events: RetryEvent[] = [];
    client.on('retry', (e) => events.push(e));
    env.server.schedule(faults.rateLimited({ retryAfterMs: 300 }));
    await client.messages.create(params);
    const [first, second] = messageRequests(env.server);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(290);
    expect(events).toEqual([expect.objectContaining({ delayMs: 300, delaySource: 'retry-after-ms', reason: 'rate_limited', status: 429 })]);
  });

  it('honours retry-after in seconds', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded({ headers: { 'retry-after': '0.3' } }));
    await client.messages.create(params);
    const [first, second] = messageRequests(env.server);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(290);
  });

  it('honours retry-after as an HTTP date', async () => {
    const client = env.client();
    const events: RetryEvent[] = [];
    client.on('retry', (e) => events.push(e));
    const when = new Date(Date.now() + 2_000).toUTCString();
    env.server.schedule(faults.overloaded({ headers: { 'retry-after': when } }));
    await client.messages.create(params);
    expect(events[0]!.delaySource).toBe('retry-after');
    // HTTP dates have one-second resolution: the wait is between 1 and 2 seconds.
    expect(events[0]!.delayMs).toBeGreaterThan(900);
    expect(events[0]!.delayMs).toBeLessThanOrEqual(2_000);
  });

  it('a hint beyond maxRetryAfterMs fails at once with the server error', async () => {
    const client = env.client({ retry: { maxRetryAfterMs: 1_000 } });
    env.server.schedule(faults.rateLimited({ retryAfterS: 30 }));
    const started = Date.now();
    const error = (await client.messages.create(params).catch((e: unknown) => e)) as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.headers?.get('retry-after')).toBe('30');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('an unusable hint falls back to backoff', async () => {
    const client = env.client();
    const events: RetryEvent[] = [];
    client.on('retry', (e) => events.push(e));
    env.server.schedule(faults.overloaded({ headers: { 'retry-after': 'soon' } }));
    await client.messages.create(params);
    expect(events[0]!.delaySource).toBe('backoff');
  });
});

describe('abort and deadline', () => {
  it('a caller abort ends a backoff sleep at once', async () => {
    const client = env.client();
    env.server.schedule(faults.rateLimited({ retryAfterMs: 20_000 }));
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.messages.create(params, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(messageRequests(env.server)).toHaveLength(1);
  });

  it('the deadline bounds attempts and sleeps together', async () => {
    const client = env.client({ deadline: 300, timeout: 10_000 });
    env.server.schedule(faults.hang());
    const started = Date.now();
    const error = (await client.messages.create(params).catch((e: unknown) => e)) as DeadlineExceededError;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.deadlineMs).toBe(300);
    expect(error.attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a hint that would outlast the deadline fails fast with the server error', async () => {
    const client = env.client({ deadline: 500 });
    env.server.schedule(faults.rateLimited({ retryAfterMs: 5_000 }));
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(RateLimitError);
    expect(messageRequests(env.server)).toHaveLength(1);
  });
});
