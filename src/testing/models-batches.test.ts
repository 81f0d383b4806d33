import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_IDS, FakeAnthropicServer, type FakeAnthropicOptions } from './index';

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: FakeAnthropicOptions = {}) {
  server = await FakeAnthropicServer.start(opts);
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
  return { server, client };
}

const params = (content: string, max_tokens = 50): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'claude-sonnet-4-6',
  max_tokens,
  messages: [{ role: 'user', content }],
});

describe('models', () => {
  it('models.list() auto-paginates through every page', async () => {
    const { client, server } = await start();
    const ids: string[] = [];
    for await (const m of client.models.list({ limit: 5 })) ids.push(m.id);
    expect(ids).toEqual(DEFAULT_MODEL_IDS);
    expect(server.ledger.map((r) => r.path)).toEqual(Array(5).fill('/v1/models'));
    const first = await client.models.list({ limit: 5 });
    expect(first.data).toHaveLength(5);
    expect(first.has_more).toBe(true);
    expect(first.first_id).toBe(DEFAULT_MODEL_IDS[0]);
    expect(first.last_id).toBe(DEFAULT_MODEL_IDS[4]);
  });

  it('before_id pages backwards', async () => {
    const { client } = await start();
    const page = await client.models.list({ before_id: DEFAULT_MODEL_IDS[10]!, limit: 3 });
    expect(page.data.map((m) => m.id)).toEqual(DEFAULT_MODEL_IDS.slice(7, 10));
    expect(page.has_more).toBe(true);
    const ids: string[] = [];
    for await (const m of client.models.list({ before_id: DEFAULT_MODEL_IDS[10]!, limit: 3 })) ids.push(m.id);
    expect(ids.sort()).toEqual(DEFAULT_MODEL_IDS.slice(0, 10).slice().sort());
  });

  it('serves full ModelInfo objects and retrieves by id or alias', async () => {
    const { client } = await start();
    const info = await client.models.retrieve('claude-sonnet-4-5');
    expect(info).toMatchObject({
      type: 'model',
      id: 'claude-sonnet-4-5',
      display_name: 'Claude Sonnet 4.5',
      created_at: expect.any(String),
      lifecycle: 'deprecated',
      retires_at: '2026-11-30T00:00:00Z',
      line: 'sonnet',
      max_input_tokens: expect.any(Number),
      max_tokens: expect.any(Number),
    });
    expect(info.capabilities?.thinking.types.enabled.supported).toBe(true);
    const dated = await client.models.retrieve('claude-haiku-4-5-20251001');
    expect(dated.created_at).toBe('2025-10-01T00:00:00Z');
    expect(dated.lifecycle).toBe('active');
    await expect(client.models.retrieve('claude-nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('serves the configured `models` list', async () => {
    const { client } = await start({ models: ['model-a', 'model-b'], modelAliases: { a: 'model-a' } });
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['model-a', 'model-b']);
    expect((await client.models.retrieve('a')).id).toBe('model-a');
    const msg = await client.messages.create({ ...params('x'), model: 'a' });
    expect(msg.model).toBe('model-a');
  });

  it('rejects a bad limit', async () => {
    const { client } = await start();
    await expect(client.models.list({ limit: 0 })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('message batches', () => {
  it('create → results decode through the SDK (succeeded and errored)', async () => {
    const { client, server } = await start({ rateLimits: { rpm: 1 } });
    const batch = await client.messages.batches.create({
      requests: [
        { custom_id: 'good', params: params('hello') },
        { custom_id: 'bad', params: { ...params('hello'), max_tokens: 0 } },
      ],
    });
    expect(batch).toMatchObject({
      id: expect.stringMatching(/^msgbatch_/),
      type: 'message_batch',
      processing_status: 'ended',
      request_counts: { processing: 0, succeeded: 1, errored: 1, canceled: 0, expired: 0 },
      results_url: `${server.url}/v1/messages/batches/${batch.id}/results`,
      archived_at: null,
      cancel_initiated_at: null,
    });
    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const r of await client.messages.batches.results(batch.id)) results.push(r);
    expect(results.map((r) => [r.custom_id, r.result.type])).toEqual([
      ['good', 'succeeded'],
      ['bad', 'errored'],
    ]);
    const good = results[0]!.result;
    if (good.type !== 'succeeded') throw new Error('unreachable');
    expect(good.message.usage.service_tier).toBe('batch');
    // Same deterministic answer as a live call (the rpm:1 bucket was untouched by the batch).
    const live = await client.messages.create(params('hello'));
    expect(good.message.content).toEqual(live.content);
    expect(good.message.usage).toEqual({ ...live.usage, service_tier: 'batch' });
    const bad = results[1]!.result;
    if (bad.type !== 'errored') throw new Error('unreachable');
    expect(bad.error.error.type).toBe('invalid_request_error');
  });

  it('stays in_progress for batchProcessingMs on the server clock; cancel and delete', async () => {
    let now = 1_767_225_600_000;
    const { client } = await start({ batchProcessingMs: 60_000, clock: () => now });
    const batch = await client.messages.batches.create({ requests: [{ custom_id: 'a', params: params('a') }] });
    expect(batch.processing_status).toBe('in_progress');
    expect(batch.request_counts.processing).toBe(1);
    expect(batch.results_url).toBeNull();
    await expect(client.messages.batches.results(batch.id)).rejects.toThrow(/results_url/);
    await expect(client.messages.batches.delete(batch.id)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    now += 60_000;
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({ processing_status: 'ended', ended_at: new Date(now).toISOString() });
    expect(ended.request_counts.succeeded).toBe(1);

    const second = await client.messages.batches.create({ requests: [{ custom_id: 'b', params: params('b') }] });
    const canceling = await client.messages.batches.cancel(second.id);
    expect(canceling.processing_status).toBe('canceling');
    const after = await client.messages.batches.retrieve(second.id);
    expect(after).toMatchObject({ processing_status: 'ended', request_counts: { canceled: 1, processing: 0 } });
    const results = [];
    for await (const r of await client.messages.batches.results(second.id)) results.push(r);
    expect(results).toEqual([{ custom_id: 'b', result: { type: 'canceled' } }]);

    const listed = [];
    for await (const b of client.messages.batches.list({ limit: 1 })) listed.push(b.id);
    expect(listed).toEqual([second.id, batch.id]);

    await expect(client.messages.batches.delete(batch.id)).resolves.toEqual({
      id: batch.id,
      type: 'message_batch_deleted',
    });
    await expect(client.messages.batches.retrieve(batch.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('validates the create body', async () => {
    const { client } = await start();
    await expect(client.messages.batches.create({ requests: [] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(
      client.messages.batches.create({
        requests: [
          { custom_id: 'dup', params: params('a') },
          { custom_id: 'dup', params: params('b') },
        ],
      }),
    ).rejects.toThrow(/duplicate custom_id/);
  });
});
