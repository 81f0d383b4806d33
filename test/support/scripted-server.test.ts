import { afterEach, describe, expect, it } from 'vitest';
import { b, ScriptedServer, type Script } from './scripted-server';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(script: Script) {
  server = await ScriptedServer.start(script);
  return server;
}

const body = { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
const post = (url: string, extra: object = {}, signal?: AbortSignal, path = '/v1/messages') =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, ...extra }), signal });

/** Reads a body until it ends, fails, or `ms` pass in silence. */
async function read(res: Response, ms = 300): Promise<{ text: string; end: 'done' | 'error' | 'silent' }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), ms)));
    try {
      const next = await Promise.race([reader.read(), silent]);
      if (next === 'silent') {
        void reader.cancel().catch(() => undefined);
        return { text, end: 'silent' };
      }
      if (next.done) return { text, end: 'done' };
      text += decoder.decode(next.value, { stream: true });
    } catch {
      return { text, end: 'error' };
    } finally {
      clearTimeout(timer);
    }
  }
}
const events = (text: string) => [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);

describe('ScriptedServer', () => {
  it('answers ok as JSON with request-id and no rate-limit headers, and records the request', async () => {
    const s = await start([b.ok(30)]);
    const started = performance.now();
    const res = await post(s.url);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toBe('req_1');
    expect([...res.headers.keys()].filter((k) => k.startsWith('anthropic-ratelimit'))).toEqual([]);
    const json = await res.json();
    expect(json).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'end_turn' });
    expect(json.content[0].text).toBe('word0 word1 word2 word3 word4');
    expect(s.requests).toEqual([expect.objectContaining({ n: 1, path: '/v1/messages', stream: false, outcome: 'ok', clientClosed: false })]);
  });

  it('streams the full SSE sequence, with an optional ping', async () => {
    const s = await start([b.ok(0, { pings: true })]);
    const { text, end } = await read(await post(s.url, { stream: true }));
    expect(end).toBe('done');
    expect(events(text)).toEqual([
      'message_start', 'ping', 'content_block_start',
      ...Array(5).fill('content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    expect(text).toContain('"usage":{"output_tokens":5}');
    expect(s.requests[0]!.stream).toBe(true);
  });

  it('answers count_tokens, and follows a schedule then ok', async () => {
    const s = await start([b.status(529, 'overloaded_error', { 'retry-after': '1' }), b.status(503, 'api_error')]);
    const first = await post(s.url, {}, undefined, '/v1/messages/count_tokens');
    expect(first.status).toBe(529);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(await first.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' }, request_id: 'req_1' });
    expect((await post(s.url)).status).toBe(503);
    const third = await post(s.url, {}, undefined, '/v1/messages/count_tokens');
    expect((await third.json()).input_tokens).toBeGreaterThan(0);
    expect(s.requests.map((r) => r.outcome)).toEqual(['status 529', 'status 503', 'ok']);
  });

  it('gives a function script n, body and at', async () => {
    const seen: unknown[] = [];
    const s = await start((req) => {
      seen.push([req.n, req.body.model, req.at >= 0]);
      return req.n === 1 ? b.status(500, 'api_error') : b.ok();
    });
    expect((await post(s.url)).status).toBe(500);
    expect((await post(s.url)).status).toBe(200);
    expect(seen).toEqual([[1, 'claude-test', true], [2, 'claude-test', true]]);
  });

  it('reset destroys the socket before headers', async () => {
    const s = await start([b.reset()]);
    await expect(post(s.url)).rejects.toThrow();
    expect(s.requests[0]!.outcome).toBe('reset');
  });

  it('stallBeforeHeaders never answers; close() still returns promptly', async () => {
    const s = await start([b.stallBeforeHeaders(), b.stallBeforeHeaders()]);
    await expect(post(s.url, {}, AbortSignal.timeout(200))).rejects.toThrow();
    const hanging = post(s.url).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await s.close();
    server = undefined;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await hanging).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.requests.every((r) => r.clientClosed)).toBe(true);
  });

  it('stallBody: JSON headers and part of the body, then silence; SSE message_start then silence', async () => {
    const s = await start([b.stallBody(10), b.stallBody()]);
    const json = await read(await post(s.url));
    expect(json).toEqual({ text: '{"id":"msg', end: 'silent' });
    const stream = await read(await post(s.url, { stream: true }));
    expect([stream.end, events(stream.text)]).toEqual(['silent', ['message_start']]);
  });

  it('stallAfterContent sends some deltas, then silence', async () => {
    const s = await start([b.stallAfterContent(2)]);
    const { text, end } = await read(await post(s.url, { stream: true }));
    expect(end).toBe('silent');
    expect(events(text)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
  });

  it('cutBody and cutStream destroy the socket mid-body', async () => {
    const s = await start([b.cutBody(15), b.cutStream(3)]);
    const json = await read(await post(s.url), 2_000);
    expect(json.end).toBe('error');
    expect(json.text.length).toBe(15);
    const stream = await read(await post(s.url, { stream: true }), 2_000);
    expect(stream.end).toBe('error');
    expect(events(stream.text).filter((e) => e === 'content_block_delta')).toHaveLength(3);
  });

  it('sseErrorAfter sends an error event after N deltas and ends the stream', async () => {
    const s = await start([b.sseErrorAfter(2, 'overloaded_error')]);
    const { text, end } = await read(await post(s.url, { stream: true }));
    expect(end).toBe('done');
    expect(events(text)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'error']);
    expect(text).toContain('"type":"overloaded_error"');
  });

  it('pingsOnly keeps a stream alive with pings, then sends the content', async () => {
    // Content only after 2 s; a reader that calls 1 s of silence a stall must still get it, because the
    // pings every 50 ms break the silence (1 s leaves room for a loaded machine's timer lag).
    const s = await start([b.pingsOnly(50, 2_000)]);
    const { text, end } = await read(await post(s.url, { stream: true }), 1_000);
    expect(end).toBe('done');
    const seen = events(text);
    expect(seen.filter((e) => e === 'ping').length).toBeGreaterThanOrEqual(5);
    expect(seen.at(-1)).toBe('message_stop');
  });
});
