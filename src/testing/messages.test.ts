import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { countInputTokens, FakeAnthropicServer } from './index';

const MODEL = 'claude-sonnet-4-6';
const params = {
  model: MODEL,
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Tell me something about rivers.' }],
};

let server: FakeAnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: Parameters<typeof FakeAnthropicServer.start>[0] = {}) {
  server = await FakeAnthropicServer.start(opts);
  const client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
  return { server, client };
}

describe('POST /v1/messages (JSON)', () => {
  it('returns a complete Message with the full Usage shape and deterministic text', async () => {
    const { client } = await start();
    const msg = await client.messages.create(params);
    expect(msg.id).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    expect(msg).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      stop_reason: 'end_turn',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
    });
    expect(msg.content).toHaveLength(1);
    const block = msg.content[0]!;
    expect(block.type).toBe('text');
    if (block.type !== 'text') throw new Error('unreachable');
    expect(block.citations).toBeNull();
    const words = block.text.match(/\S+ /g) ?? [];
    expect(words.join('')).toBe(block.text);
    expect(msg.usage).toEqual({
      input_tokens: countInputTokens(params),
      output_tokens: words.length,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      server_tool_use: null,
      service_tier: 'standard',
      inference_geo: 'global',
      speed: 'standard',
      output_tokens_details: null,
    });
    expect(words.length).toBeGreaterThanOrEqual(5);
    expect(words.length).toBeLessThanOrEqual(40);

    const again = await client.messages.create(params);
    expect(again.content).toEqual(msg.content);
    expect(again.id).not.toBe(msg.id);
  });

  it('withResponse() exposes the request id, organization id and JSON content type', async () => {
    const { client, server } = await start();
    const { data, response, request_id } = await client.messages.create(params).withResponse();
    expect(request_id).toMatch(/^req_[0-9A-Za-z]{24}$/);
    expect((data as { _request_id?: string })._request_id).toBe(request_id);
    expect(response.headers.get('request-id')).toBe(request_id);
    expect(response.headers.get('anthropic-organization-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(server.ledger[0]!.requestId).toBe(request_id);
  });

  it('caps output at max_tokens with stop_reason max_tokens', async () => {
    const { client } = await start({ outputTokens: 30 });
    const msg = await client.messages.create({ ...params, max_tokens: 7 });
    expect(msg.stop_reason).toBe('max_tokens');
    expect(msg.usage.output_tokens).toBe(7);
    const full = await client.messages.create(params);
    expect(full.usage.output_tokens).toBe(30);
    expect(full.stop_reason).toBe('end_turn');
  });

  it('outputTokens may be a function of the request', async () => {
    const { client } = await start({ outputTokens: (body) => body.messages.length * 4 });
    const msg = await client.messages.create(params);
    expect(msg.usage.output_tokens).toBe(4);
  });

  it('maps aliases to dated ids and reports inference_geo / speed from the request', async () => {
    const { client } = await start();
    const msg = await client.messages.create({
      ...params,
      model: 'claude-haiku-4-5',
      inference_geo: 'us',
      speed: 'fast',
    });
    expect(msg.model).toBe('claude-haiku-4-5-20251001');
    expect(msg.usage.inference_geo).toBe('us');
    expect(msg.usage.speed).toBe('fast');
  });

  it('answers tool_choice any/tool with a tool_use block', async () => {
    const { client } = await start();
    const tools = [
      { name: 'lookup', description: 'Look something up', input_schema: { type: 'object' as const } },
      { name: 'other', input_schema: { type: 'object' as const } },
    ];
    const any = await client.messages.create({ ...params, tools, tool_choice: { type: 'any' } });
    expect(any.stop_reason).toBe('tool_use');
    expect(any.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'lookup', input: {}, caller: { type: 'direct' } },
    ]);
    const named = await client.messages.create({ ...params, tools, tool_choice: { type: 'tool', name: 'other' } });
    expect(named.content[0]).toMatchObject({ type: 'tool_use', name: 'other' });
    const auto = await client.messages.create({ ...params, tools, tool_choice: { type: 'auto' } });
    expect(auto.content[0]!.type).toBe('text');
    expect(auto.usage.input_tokens).toBe(countInputTokens({ ...params, tools }));
  });
});

describe('POST /v1/messages (SSE)', () => {
  it('emits the exact event sequence, one text delta per output token', async () => {
    const { client } = await start();
    const json = await client.messages.create(params);
    const stream = await client.messages.create({ ...params, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);
    const n = json.usage.output_tokens;
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(n).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start0 = events[0]!;
    if (start0.type !== 'message_start') throw new Error('unreachable');
    expect(start0.message.content).toEqual([]);
    expect(start0.message.stop_reason).toBeNull();
    expect(start0.message.usage).toEqual({ ...json.usage, output_tokens: 1 });
    const text = events
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
      .join('');
    expect(text).toBe((json.content[0] as Anthropic.TextBlock).text);
    const delta = events[events.length - 2]!;
    if (delta.type !== 'message_delta') throw new Error('unreachable');
    expect(delta.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null });
    expect(delta.usage).toEqual({
      output_tokens: n,
      input_tokens: json.usage.input_tokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      server_tool_use: null,
      output_tokens_details: null,
    });
  });

  it('writes the raw wire format with ping and text/event-stream', async () => {
    const { server } = await start({ outputTokens: 2 });
    const res = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const raw = await res.text();
    const blocks = raw.split('\n\n').filter(Boolean);
    expect(blocks.map((b) => b.split('\n')[0])).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: ping',
      'event: content_block_delta',
      'event: content_block_delta',
      'event: content_block_stop',
      'event: message_delta',
      'event: message_stop',
    ]);
    for (const b of blocks) {
      const [ev, data, ...rest] = b.split('\n');
      expect(rest).toEqual([]);
      expect(data!.startsWith('data: ')).toBe(true);
      expect(JSON.parse(data!.slice(6)).type).toBe(ev!.slice(7));
    }
  });

  it('stream().finalMessage() equals the JSON answer (content, usage, stop reason)', async () => {
    const { client } = await start();
    const json = await client.messages.create(params);
    const final = await client.messages.stream(params).finalMessage();
    expect(final.usage).toEqual(json.usage);
    expect(final.content).toEqual(json.content);
    expect(final.stop_reason).toBe(json.stop_reason);
    expect(final.model).toBe(json.model);
  });

  it('streams tool_use as input_json_delta and finalMessage() matches the JSON answer', async () => {
    const { client } = await start();
    const body = {
      ...params,
      tools: [{ name: 'lookup', input_schema: { type: 'object' as const } }],
      tool_choice: { type: 'any' as const },
    };
    const json = await client.messages.create(body);
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const ev of await client.messages.create({ ...body, stream: true })) events.push(ev);
    const deltas = events.filter((e) => e.type === 'content_block_delta');
    expect(deltas).toEqual([
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{}' } },
    ]);
    const final = await client.messages.stream(body).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toEqual(json.usage);
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup', input: {} });
  });
});

describe('validation, auth and routing', () => {
  async function rawPost(url: string, body: string, headers: Record<string, string> = { 'x-api-key': 'k' }) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, json: (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string } };
  }

  it.each([
    ['{not json', 'body'],
    [JSON.stringify({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), 'model'],
    [JSON.stringify({ model: 7, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), 'model'],
    [JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), 'max_tokens'],
    [JSON.stringify({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }), 'max_tokens'],
    [JSON.stringify({ model: 'm', max_tokens: 1.5, messages: [{ role: 'user', content: 'x' }] }), 'max_tokens'],
    [JSON.stringify({ model: 'm', max_tokens: 5 }), 'messages'],
    [JSON.stringify({ model: 'm', max_tokens: 5, messages: [] }), 'messages'],
    [JSON.stringify({ model: 'm', max_tokens: 5, messages: 'hi' }), 'messages'],
    [JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'robot', content: 'x' }] }), 'messages.0.role'],
    [JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 5 }] }), 'messages.0.content'],
  ])('400 invalid_request_error naming the field for %s', async (body, field) => {
    const { server } = await start();
    const { status, json } = await rawPost(`${server.url}/v1/messages`, body);
    expect(status).toBe(400);
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message.startsWith(`${field}:`)).toBe(true);
    expect(json.request_id).toMatch(/^req_/);
    expect(server.ledger[0]!.outcome).toBe('invalid');
  });

  it('the SDK raises BadRequestError for an invalid request', async () => {
    const { client } = await start();
    await expect(client.messages.create({ ...params, max_tokens: 0 })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('unknown paths get 404 not_found_error', async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/v1/nope`, { headers: { 'x-api-key': 'k' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
  });

  it('with `models`, an unknown model gets 404 naming it', async () => {
    const { client } = await start({ models: [MODEL] });
    const err = await client.messages.create({ ...params, model: 'claude-unknown' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as APIError).message).toContain('model: claude-unknown');
    await expect(client.messages.create(params)).resolves.toMatchObject({ model: MODEL });
  });

  it('checks keys from Authorization: Bearer or x-api-key; revokeKey/addKey take effect', async () => {
    const { server, client } = await start({ apiKeys: ['test-key'] });
    await expect(client.messages.create(params)).resolves.toBeDefined();
    const wrong = new Anthropic({ baseURL: server.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(wrong.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const viaHeader = await rawPost(`${server.url}/v1/messages`, JSON.stringify(params), { 'x-api-key': 'test-key' });
    expect(viaHeader.status).toBe(200);
    const missing = await rawPost(`${server.url}/v1/messages`, JSON.stringify(params), {});
    expect(missing.status).toBe(401);
    expect(missing.json.error.type).toBe('authentication_error');

    server.revokeKey('test-key');
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    server.addKey('test-key');
    server.addKey('wrong');
    await expect(client.messages.create(params)).resolves.toBeDefined();
    await expect(wrong.messages.create(params)).resolves.toBeDefined();
    expect(server.ledger.map((r) => r.outcome)).toEqual(['ok', 'auth_error', 'ok', 'auth_error', 'auth_error', 'ok', 'ok']);
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it('returns countInputTokens(body) for a rich request, without touching rate limits', async () => {
    const { client, server } = await start({ rateLimits: { rpm: 1 } });
    const body: Anthropic.MessageCountTokensParams = {
      model: MODEL,
      system: [{ type: 'text', text: 'You are terse.' }],
      tools: [{ name: 'lookup', description: 'Find', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture? Ünïcödé counts bytes.' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'A plain document.' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'result text' }] },
      ],
    };
    for (let i = 0; i < 3; i++) {
      const counted = await client.messages.countTokens(body);
      expect(counted.input_tokens).toBe(countInputTokens(body));
    }
    expect(server.ledger.every((r) => r.status === 200)).toBe(true);
    expect(server.stats().servedResponses).toBe(0);
    // count_tokens consumed no request capacity: the one allowed message still goes through.
    await expect(client.messages.create(params)).resolves.toBeDefined();
  });
});
