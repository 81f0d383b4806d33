import { describe, expect, it } from 'vitest';
import {
  BLOCK_OVERHEAD,
  estimateDemand,
  estimateInputTokens,
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD,
  PDF_PAGE_TOKENS,
  REQUEST_OVERHEAD,
  textTokens,
  TOOL_PROMPT_TOKENS,
  UNKNOWN_DOCUMENT_TOKENS,
} from './estimate';

function fakePdf(pages: number): string {
  let body = '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Count ' + pages + ' >> endobj\n';
  for (let i = 0; i < pages; i++) body += `${3 + i} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`;
  return Buffer.from(body, 'latin1').toString('base64');
}

describe('textTokens', () => {
  it('counts 3 ASCII characters per token and one per other character', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('abcdef')).toBe(2);
    expect(textTokens('abcdefg')).toBe(3);
    expect(textTokens('日本語')).toBe(3);
    expect(textTokens('😀')).toBe(1); // a surrogate pair counts once
  });

  it('is conservative for ordinary English prose (≥ 1 token per 4 characters)', () => {
    const prose = 'The quick brown fox jumps over the lazy dog while the rate limiter keeps count. '.repeat(20);
    expect(textTokens(prose)).toBeGreaterThanOrEqual(prose.length / 4);
  });
});

describe('estimateInputTokens', () => {
  it('counts system, string messages and overheads', () => {
    const est = estimateInputTokens({ model: 'm', max_tokens: 10, system: 'abcdef', messages: [{ role: 'user', content: 'abcdefghi' }] });
    expect(est).toBe(REQUEST_OVERHEAD + MESSAGE_OVERHEAD + 2 + MESSAGE_OVERHEAD + 3);
  });

  it('counts text, image, document, tool_use, tool_result and thinking blocks', () => {
    const params = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'abc' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: fakePdf(3) } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'abcdef' } },
            { type: 'document', source: { type: 'url', url: 'https://example.com/x.pdf' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'abcabc', signature: 'sig' },
            { type: 'tool_use', id: 't1', name: 'get', input: { q: 'x' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'abcabcabc' }] }] },
      ],
    };
    const expected =
      REQUEST_OVERHEAD +
      3 * MESSAGE_OVERHEAD +
      (BLOCK_OVERHEAD + 1) +
      (BLOCK_OVERHEAD + IMAGE_TOKENS) +
      (BLOCK_OVERHEAD + 3 * PDF_PAGE_TOKENS) +
      (BLOCK_OVERHEAD + 2) +
      (BLOCK_OVERHEAD + UNKNOWN_DOCUMENT_TOKENS) +
      (BLOCK_OVERHEAD + 2) +
      (BLOCK_OVERHEAD + textTokens('get') + textTokens('{"q":"x"}')) +
      (BLOCK_OVERHEAD + BLOCK_OVERHEAD + 3);
    expect(estimateInputTokens(params)).toBe(expected);
  });

  it('adds the tool prompt once and each definition as JSON', () => {
    const tool = { name: 'weather', description: 'Get the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };
    const base = estimateInputTokens({ messages: [] });
    expect(estimateInputTokens({ messages: [], tools: [tool] })).toBe(base + TOOL_PROMPT_TOKENS + BLOCK_OVERHEAD + textTokens(JSON.stringify(tool)));
    expect(estimateInputTokens({ messages: [], tools: [] })).toBe(base);
  });

  it('never throws on malformed or cyclic input', () => {
    const cyclic: Record<string, unknown> = { type: 'mystery' };
    cyclic.self = cyclic;
    expect(estimateInputTokens(null)).toBe(0);
    expect(estimateInputTokens('hello')).toBe(0);
    expect(() => estimateInputTokens({ messages: [{ role: 'user', content: [cyclic, 42, null] }], system: 7, tools: 'x' })).not.toThrow();
  });
});

describe('estimateDemand', () => {
  it('is 1 request, the input estimate and max_tokens', () => {
    const params = { max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] };
    expect(estimateDemand(params)).toEqual({ requests: 1, inputTokens: estimateInputTokens(params), outputTokens: 1024 });
    expect(estimateDemand({ messages: [] }).outputTokens).toBe(0);
    expect(estimateDemand(params, { inputTokens: 5 }).inputTokens).toBe(5);
  });
});
