import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseBlockSplitter } from './sse-blocks';

const enc = new TextEncoder();
const dec = new TextDecoder();

function splitAll(text: string, cuts: number[]): { events: (string | undefined)[]; bytes: string } {
  const bytes = enc.encode(text);
  const splitter = new SseBlockSplitter();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const events: (string | undefined)[] = [];
  let out = '';
  let last = 0;
  for (const p of [...points, bytes.length]) {
    for (const block of splitter.push(bytes.slice(last, p))) {
      events.push(block.event);
      out += dec.decode(block.bytes);
    }
    last = p;
  }
  out += dec.decode(splitter.remainder());
  return { events: events.filter((e) => e !== undefined), bytes: out };
}

describe('SseBlockSplitter', () => {
  it('returns each complete event with its name and data', () => {
    const splitter = new SseBlockSplitter();
    const blocks = splitter.push(enc.encode('event: ping\ndata: {"type":"ping"}\n\nevent: message_stop\ndata: {}\n\n'));
    expect(blocks.map((b) => [b.event, b.data])).toEqual([
      ['ping', '{"type":"ping"}'],
      ['message_stop', '{}'],
    ]);
  });

  it('holds a partial event until its blank line arrives', () => {
    const splitter = new SseBlockSplitter();
    expect(splitter.push(enc.encode('event: a\ndata: 1\n'))).toEqual([]);
    const blocks = splitter.push(enc.encode('\n'));
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.event).toBe('a');
  });

  it('accepts CRLF and CR line endings, including a CR split from its LF across chunks', () => {
    const splitter = new SseBlockSplitter();
    expect(splitter.push(enc.encode('event: a\r\ndata: 1\r\n\r'))).toEqual([]);
    const blocks = splitter.push(enc.encode('\nevent: b\rdata: 2\r\r\n'));
    expect(blocks.map((b) => b.event)).toEqual(['a', 'b']);
  });

  it('reads the event name from the bytes as the full field parser would (property)', () => {
    // The reference: the SSE spec's rule, on the decoded text (the last `event:` line wins).
    const reference = (text: string): string | undefined => {
      let event: string | undefined;
      for (const line of text.split(/\r\n|\r|\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).replace(/^ /, '');
      }
      return event;
    };
    const name = fc.constantFrom('content_block_delta', 'ping', 'message_stop', 'error', 'erro', 'pings', 'naïve_✓', '');
    const line = fc.oneof(
      name.map((n) => `event: ${n}`),
      name.map((n) => `event:${n}`),
      fc.constantFrom('data: {"a":1}', 'data: é', ': comment', 'id: 3', 'eventual: 1'),
    );
    const block = fc
      .tuple(fc.array(line, { minLength: 1, maxLength: 4 }), fc.constantFrom('\n', '\r\n'))
      .map(([lines, sep]) => lines.join(sep) + sep + sep);
    fc.assert(
      fc.property(block, (text) => {
        const blocks = new SseBlockSplitter().push(enc.encode(text));
        expect(blocks).toHaveLength(1);
        expect(blocks[0]!.event).toBe(reference(text));
      }),
    );
  });

  it('never changes or loses a byte, wherever the chunks are cut (property)', () => {
    const line = fc.constantFrom('event: x', 'data: {"a":1}', 'data: é✓', ': comment', 'id: 3', '');
    const sep = fc.constantFrom('\n', '\r\n', '\r');
    const stream = fc.array(fc.tuple(line, sep), { maxLength: 30 }).map((parts) => parts.map(([l, s]) => l + s).join(''));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(400), { maxLength: 10 }), (text, cuts) => {
        const whole = splitAll(text, []);
        const cut = splitAll(text, cuts);
        expect(cut.bytes).toBe(text);
        expect(cut.events).toEqual(whole.events);
      }),
    );
  });
});
