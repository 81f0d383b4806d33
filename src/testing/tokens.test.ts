import { describe, expect, it } from 'vitest';
import { BINARY_DOCUMENT_TOKENS, countInputTokens, IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, textTokens } from './index';
import { defaultOutputTokens } from './completion';
import { promptPieces } from './tokens';

describe('countInputTokens', () => {
  it('text is ceil(UTF-8 bytes / 4), per piece', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('abcd')).toBe(1);
    expect(textTokens('abcde')).toBe(2);
    expect(textTokens('é')).toBe(1); // 2 bytes
    expect(textTokens('😀😀')).toBe(2); // 8 bytes
  });

  it('adds 3 per message plus content', () => {
    expect(
      countInputTokens({
        messages: [
          { role: 'user', content: 'Hello!' }, // 3 + 2
          { role: 'assistant', content: [{ type: 'text', text: 'abcd' }, { type: 'text', text: 'abcde' }] }, // 3 + 1 + 2
        ],
      }),
    ).toBe(2 * MESSAGE_OVERHEAD_TOKENS + 2 + 1 + 2);
  });

  it('counts system as a string or as separate text blocks', () => {
    expect(countInputTokens({ system: 'abcdefgh', messages: [] })).toBe(2);
    expect(countInputTokens({ system: [{ type: 'text', text: 'abcde' }, { type: 'text', text: 'abc' }], messages: [] })).toBe(3);
  });

  it('counts tool definitions as JSON of name, description and input_schema', () => {
    const tool = { name: 'lookup', description: 'Find things', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } };
    const json = JSON.stringify({ name: 'lookup', description: 'Find things', input_schema: { type: 'object' } });
    expect(countInputTokens({ tools: [tool] })).toBe(Math.ceil(json.length / 4));
  });

  it('counts images and binary documents as fixed amounts, text documents as text', () => {
    const content = [
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'abcdefgh' } },
      { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'abcd' }] } },
    ];
    expect(countInputTokens({ messages: [{ role: 'user', content }] })).toBe(
      MESSAGE_OVERHEAD_TOKENS + IMAGE_TOKENS + BINARY_DOCUMENT_TOKENS + 2 + 1,
    );
  });

  it('counts tool_result content (string or blocks) and tool_use name + input', () => {
    const messages = [
      { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'ab', input: { q: 1 } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't', content: 'abcdefgh' },
          { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'abcd' }, { type: 'image', source: {} }] },
        ],
      },
    ];
    expect(countInputTokens({ messages })).toBe(3 + textTokens('ab{"q":1}') + 3 + 2 + 1 + IMAGE_TOKENS);
  });

  it('ignores model, max_tokens and other parameters; tolerates junk', () => {
    expect(countInputTokens({ model: 'x'.repeat(100), max_tokens: 5, messages: [{ role: 'user', content: 'abcd' }] })).toBe(4);
    expect(countInputTokens(null)).toBe(0);
    expect(countInputTokens({ messages: 'nope', system: 5 })).toBe(0);
  });

  it('the top-level cache_control marks the last piece', () => {
    const pieces = promptPieces({
      cache_control: { type: 'ephemeral', ttl: '1h' },
      messages: [{ role: 'user', content: 'abc' }],
    });
    expect(pieces.map((p) => p.ttl)).toEqual([undefined, '1h']);
  });
});

describe('defaultOutputTokens', () => {
  it('is in [5, 40], ignores stream, and depends on the seed', () => {
    const body = { model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] };
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const n = defaultOutputTokens({ ...body, messages: [{ role: 'user', content: `q${i}` }] });
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(40);
      seen.add(n);
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(defaultOutputTokens({ ...body, stream: true })).toBe(defaultOutputTokens(body));
    const bySeed = new Set([1, 2, 3, 4, 5, 6].map((seed) => defaultOutputTokens(body, seed)));
    expect(bySeed.size).toBeGreaterThan(1);
  });
});
