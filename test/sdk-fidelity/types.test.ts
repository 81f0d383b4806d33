/**
 * ResilientClaude is a drop-in `Anthropic` at the type level and at run time (catalogue §0 "swapped in";
 * R20): it is assignable to `Anthropic`, `withOptions()` keeps its type, and `instanceof` holds for the client
 * and for the SDK errors it raises.
 */
import Anthropic, { APIConnectionError, APIError, APIPromise, type ClientOptions } from '@anthropic-ai/sdk';
import * as SdkErrors from '@anthropic-ai/sdk/core/error';
import { describe, expect, expectTypeOf, test } from 'vitest';
import * as Root from '../../src';
import { ResilientClaude, type ResilientClaudeOptions } from '../../src';
import { json, rejectionOf } from './helpers';

describe('types', () => {
  test('a ResilientClaude is assignable wherever an Anthropic is expected', () => {
    const client: Anthropic = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    expectTypeOf<ResilientClaude>().toExtend<Anthropic>();
    const takesAnthropic = (c: Anthropic) => c.messages;
    expect(takesAnthropic(client)).toBe(client.messages);
  });

  test('the constructor accepts every SDK ClientOptions bag', () => {
    expectTypeOf<ClientOptions>().toExtend<ResilientClaudeOptions>();
    const sdkOptions: ClientOptions = { apiKey: 'sk-test', maxRetries: 1, timeout: 1000, logLevel: 'off' };
    expect(new ResilientClaude(sdkOptions)).toBeInstanceOf(ResilientClaude);
  });

  test('withOptions() returns a ResilientClaude', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    const clone = client.withOptions({ timeout: 1000 });
    expectTypeOf(clone).toEqualTypeOf<ResilientClaude>();
    expect(clone).toBeInstanceOf(ResilientClaude);
  });

  test('resource methods keep their SDK return types', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    expectTypeOf(client.messages.create).toEqualTypeOf<Anthropic['messages']['create']>();
    expectTypeOf(client.request<{ a: number }>).returns.toEqualTypeOf<APIPromise<{ a: number }>>();
  });
});

describe('run-time identity', () => {
  test('client instanceof Anthropic, and the same constructor after withOptions()', () => {
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false });
    expect(client).toBeInstanceOf(Anthropic);
    expect(client.withOptions({})).toBeInstanceOf(Anthropic);
    expect(client.withOptions({}).constructor).toBe(ResilientClaude);
  });

  test('errors raised through ResilientClaude are the SDK classes, from every import path', async () => {
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 0,
      fetch: async () => json({ type: 'error', error: { type: 'invalid_request_error', message: 'bad' } }, { status: 400 }),
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(error).toBeInstanceOf(APIError);
    expect(error).toBeInstanceOf(SdkErrors.APIError);
    expect(error).toBeInstanceOf(SdkErrors.BadRequestError);

    const broken = new ResilientClaude({
      apiKey: 'sk-test',
      logger: false,
      maxRetries: 0,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const connection = await rejectionOf(broken.request({ path: '/foo', method: 'get' }));
    expect(connection).toBeInstanceOf(APIConnectionError);
    expect(connection).toBeInstanceOf(SdkErrors.APIConnectionError);
  });

  test("the package root re-exports the SDK's error classes as the very same objects", () => {
    expect(Root.Anthropic).toBe(Anthropic);
    expect(Root.APIError).toBe(APIError);
    expect(Root.APIConnectionError).toBe(APIConnectionError);
    expect(Root.APIUserAbortError).toBe(SdkErrors.APIUserAbortError);
    expect(Root.default).toBe(ResilientClaude);
  });
});
