import { describe, expect, it } from 'vitest';
import { InputRejectedError } from '../errors/input-rejected-error';
import { validateCountTokensParams, validateMessageParams } from './validate-params';

const base = () => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello' }] as unknown[],
});

function rejectionOf(fn: () => void): InputRejectedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputRejectedError) return error;
    throw error;
  }
  throw new Error('expected an InputRejectedError');
}

describe('validateMessageParams: malformed calls', () => {
  const cases: [string, unknown, string][] = [
    ['params not an object', 'hello', 'params'],
    ['params null', null, 'params'],
    ['params an array', [], 'params'],
    ['model missing', { ...base(), model: undefined }, 'model'],
    ['model empty', { ...base(), model: '' }, 'model'],
    ['model blank', { ...base(), model: '   ' }, 'model'],
    ['model a number', { ...base(), model: 4 }, 'model'],
    ['max_tokens missing', { ...base(), max_tokens: undefined }, 'max_tokens'],
    ['max_tokens zero', { ...base(), max_tokens: 0 }, 'max_tokens'],
    ['max_tokens negative', { ...base(), max_tokens: -5 }, 'max_tokens'],
    ['max_tokens fractional', { ...base(), max_tokens: 10.5 }, 'max_tokens'],
    ['max_tokens NaN', { ...base(), max_tokens: Number.NaN }, 'max_tokens'],
    ['max_tokens Infinity', { ...base(), max_tokens: Infinity }, 'max_tokens'],
    ['max_tokens a string', { ...base(), max_tokens: '1024' }, 'max_tokens'],
    ['messages missing', { ...base(), messages: undefined }, 'messages'],
    ['messages a string', { ...base(), messages: 'hi' }, 'messages'],
    ['message null', { ...base(), messages: [{ role: 'user', content: 'a' }, null] }, 'messages[1]'],
    ['message a string', { ...base(), messages: ['hi'] }, 'messages[0]'],
    ['role missing', { ...base(), messages: [{ content: 'a' }] }, 'messages[0].role'],
    [
      'role wrong',
      { ...base(), messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'human', content: 'c' }] },
      'messages[2].role',
    ],
    ['role a number', { ...base(), messages: [{ role: 1, content: 'a' }] }, 'messages[0].role'],
    ['content missing', { ...base(), messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['content null', { ...base(), messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
    ['content an object', { ...base(), messages: [{ role: 'user', content: { type: 'text', text: 'a' } }] }, 'messages[0].content'],
    ['block a string', { ...base(), messages: [{ role: 'user', content: ['hi'] }] }, 'messages[0].content[0]'],
    ['block null', { ...base(), messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, null] }] }, 'messages[0].content[1]'],
    ['block type missing', { ...base(), messages: [{ role: 'user', content: [{ text: 'a' }] }] }, 'messages[0].content[0].type'],
    ['block type a number', { ...base(), messages: [{ role: 'user', content: [{ type: 3 }] }] }, 'messages[0].content[0].type'],
    ['block type empty', { ...base(), messages: [{ role: 'assistant', content: 'x' }, { role: 'user', content: [{ type: '' }] }] }, 'messages[1].content[0].type'],
  ];

  for (const [name, params, field] of cases) {
    it(`${name} → ${field}`, () => {
      const error = rejectionOf(() => validateMessageParams(params));
      expect(error.reason).toBe('invalid');
      expect(error.field).toBe(field);
      expect(error.code).toBe('INPUT_REJECTED');
      expect(error.message).toContain(field);
    });
  }

  it('names the typo in a wrong role', () => {
    const error = rejectionOf(() => validateMessageParams({ ...base(), messages: [{ role: 'usr', content: 'a' }] }));
    expect(error.message).toContain('"usr"');
  });
});

describe('validateMessageParams: valid unusual calls pass untouched', () => {
  const pngBase64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const unusual = {
    model: 'some-future-model-id',
    max_tokens: 64_000,
    stream: true,
    temperature: 0.2,
    metadata: { user_id: 'user-42' },
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    thinking: { type: 'enabled', budget_tokens: 2048 },
    tools: [
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
    ],
    tool_choice: { type: 'auto' },
    stop_sequences: ['\n\nEND'],
    some_new_top_level_field: { anything: [1, 2, 3] },
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pngBase64 } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
          { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' }, citations: { enabled: true } },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'text' }, title: 'T', context: 'C' },
          { type: 'search_result', source: 'https://example.com', title: 'R', content: [{ type: 'text', text: 'r' }] },
          { type: 'text', text: 'What is the weather?' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Let me check.', signature: 'EqQBCgIYAhIM' },
          { type: 'redacted_thinking', data: 'abc' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: '18°C' }], is_error: false },
          { type: 'some_future_block', payload: { x: 1 } },
        ],
      },
      { role: 'assistant', content: '' },
    ],
  };

  it('accepts them without changing anything', () => {
    const before = JSON.stringify(unusual);
    expect(() => validateMessageParams(unusual)).not.toThrow();
    expect(JSON.stringify(unusual)).toBe(before);
  });

  it("accepts role 'system' inside messages (the SDK's SystemMessageParam: tool additions and removals)", () => {
    const params = {
      ...unusual,
      messages: [...unusual.messages, { role: 'system', content: [{ type: 'tool_removal', name: 'search' }] }],
    };
    expect(() => validateMessageParams(params)).not.toThrow();
  });

  it('names the roles it accepts when the role is unknown', () => {
    const params = { ...unusual, messages: [...unusual.messages, { role: 'developer', content: 'x' }] };
    expect(() => validateMessageParams(params)).toThrow(/messages\[\d+\]\.role.*'user', 'assistant' or 'system', got "developer"/);
  });

  it('accepts them for countTokens too (no max_tokens needed)', () => {
    const { max_tokens: _ignored, ...countParams } = unusual;
    expect(() => validateCountTokensParams(countParams)).not.toThrow();
  });
});

describe('validateCountTokensParams', () => {
  it('does not require max_tokens but checks model and messages with exact paths', () => {
    expect(() => validateCountTokensParams({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).not.toThrow();
    expect(rejectionOf(() => validateCountTokensParams({ messages: [{ role: 'user', content: 'hi' }] })).field).toBe('model');
    expect(
      rejectionOf(() => validateCountTokensParams({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }, 7] }] })).field,
    ).toBe('messages[0].content[1]');
  });
});
