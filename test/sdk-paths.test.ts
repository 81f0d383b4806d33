import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { ResilientClaude } from '../src/client';
import type { CallRecord } from '../src/events';
import { countInputTokens, faults } from '../src/testing';
import { messageRequests, params, startServer } from './helpers/setup';

let env: Awaited<ReturnType<typeof startServer>>;
beforeEach(async () => {
  env = await startServer();
});
afterEach(async () => {
  await env.close();
});

/** Each SDK path goes through the layers: a scheduled 529 is retried and the SDK's own result comes back. */
describe('every SDK path passes through the layers and returns what the SDK returns', () => {
  it('messages.create', async () => {
    const client = env.client();
    const raw = new Anthropic({ apiKey: 'test-key', baseURL: env.server.url, maxRetries: 0 });
    const expected = await raw.messages.create(params);
    env.server.resetLedger();
    env.server.schedule(faults.overloaded());
    const message = await client.messages.create(params);
    expect(message).toEqual({ ...expected, id: message.id });
    expect(message._request_id).toMatch(/^req_/);
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('messages.create with stream: true', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded());
    const stream = await client.messages.create({ ...params, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('messages.stream().finalMessage()', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded());
    const stream = client.messages.stream(params);
    const message = await stream.finalMessage();
    expect(message.role).toBe('assistant');
    expect(stream.request_id).toMatch(/^req_/);
    expect(messageRequests(env.server)).toHaveLength(2);
  });

  it('messages.countTokens', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded());
    env.server.inject(faults.overloaded(), { times: 1, paths: ['/v1/messages/count_tokens'] });
    const counted = await client.messages.countTokens({ model: params.model, messages: params.messages });
    expect(counted.input_tokens).toBe(countInputTokens({ model: params.model, messages: params.messages }));
    expect(env.server.ledger.filter((r) => r.path === '/v1/messages/count_tokens')).toHaveLength(2);
  });

  it('models.list walks every page', async () => {
    const client = env.client();
    env.server.inject(faults.overloaded(), { times: 1, paths: ['/v1/models'] });
    const ids: string[] = [];
    for await (const model of client.models.list({ limit: 3 })) ids.push(model.id);
    expect(ids.length).toBeGreaterThan(3);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('beta.messages.create', async () => {
    const client = env.client();
    env.server.schedule(faults.overloaded());
    const message = await client.beta.messages.create({ ...params, betas: ['token-efficient-tools-2025-02-19'] });
    expect(message.type).toBe('message');
    const [, retried] = messageRequests(env.server);
    expect(retried!.headers['anthropic-beta']).toContain('token-efficient-tools-2025-02-19');
  });

  it('.withResponse() and .asResponse()', async () => {
    const client = env.client();
    const { data, response, request_id } = await client.messages.create(params).withResponse();
    expect(data.type).toBe('message');
    expect(response).toBeInstanceOf(Response);
    expect(request_id).toBe(response.headers.get('request-id'));
    const rawResponse = await client.messages.create(params).asResponse();
    expect(rawResponse.status).toBe(200);
    expect(JSON.parse(await rawResponse.text())).toMatchObject({ type: 'message' });
  });

  it('batches: create, retrieve and results', async () => {
    const client = env.client();
    const batch = await client.messages.batches.create({
      requests: [{ custom_id: 'a', params }, { custom_id: 'b', params }],
    });
    const done = await client.messages.batches.retrieve(batch.id);
    expect(done.processing_status).toBe('ended');
    const results = [];
    for await (const entry of await client.messages.batches.results(batch.id)) results.push(entry);
    expect(results.map((r) => r.custom_id).sort()).toEqual(['a', 'b']);
    expect(results.every((r) => r.result.type === 'succeeded')).toBe(true);
  });

  it('withOptions() returns a ResilientClaude with the layers', async () => {
    const client = env.client();
    const clone = client.withOptions({ timeout: 20_000 });
    expect(clone).toBeInstanceOf(ResilientClaude);
    expect(clone.timeout).toBe(20_000);
    const records: CallRecord[] = [];
    clone.on('callComplete', (r) => records.push(r));
    env.server.schedule(faults.overloaded());
    await clone.messages.create(params);
    expect(records).toEqual([expect.objectContaining({ attempts: 2, ok: true })]);
  });

  it('withOptions({ middleware }) keeps our layers, and user middleware sees every attempt', async () => {
    const client = env.client();
    const seen: string[] = [];
    const clone = client.withOptions({
      middleware: [
        async (request, next) => {
          seen.push(request.headers.get('x-stainless-retry-count') ?? '-');
          return next(request);
        },
      ],
    });
    expect(clone.middleware).toHaveLength(1);
    env.server.schedule(faults.overloaded(), faults.overloaded());
    await clone.messages.create(params);
    expect(seen).toEqual(['0', '1', '2']);
  });
});

describe('types', () => {
  it('a ResilientClaude is an Anthropic', () => {
    const client: Anthropic = new ResilientClaude({ apiKey: 'k', logger: false });
    expect(client).toBeInstanceOf(Anthropic);
    expectTypeOf<ResilientClaude>().toMatchTypeOf<Anthropic>();
    expectTypeOf(new ResilientClaude({ apiKey: 'k', logger: false }).withOptions({})).toEqualTypeOf<ResilientClaude>();
  });
});
