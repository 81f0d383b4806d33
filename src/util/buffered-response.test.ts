import { describe, expect, it } from 'vitest';
import { BufferedJson, BufferedResponse } from './buffered-response';

const bytes = (text: string) => new TextEncoder().encode(text);
const head = (headers = new Headers({ 'content-type': 'application/json', 'request-id': 'req_1' })) => ({
  status: 200,
  statusText: 'OK',
  headers,
  url: 'http://api.test/v1/messages',
  redirected: false,
});

/** The same body as a native Response, to compare against. */
const native = (text: string) => new Response(bytes(text), { status: 200, headers: { 'content-type': 'application/json' } });

describe('BufferedResponse', () => {
  it('is a Response with the original status, url and the very same headers object', () => {
    const h = head();
    const response = new BufferedResponse(h, new BufferedJson(bytes('{"a":1}')));
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.ok, response.statusText, response.url]).toEqual([200, true, 'OK', h.url]);
    expect(response.headers).toBe(h.headers);
  });

  it('reads once, like a native body: json, then every read rejects with TypeError', async () => {
    for (const make of [() => new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}'))), () => native('{"a":1}')]) {
      const response = make();
      expect(response.bodyUsed).toBe(false);
      await expect(response.json()).resolves.toEqual({ a: 1 });
      expect(response.bodyUsed).toBe(true);
      await expect(response.text()).rejects.toBeInstanceOf(TypeError);
      expect(() => response.clone()).toThrow(TypeError);
    }
  });

  it('parses once, shared with whoever asks the buffered body', async () => {
    const body = new BufferedJson(bytes('{"usage":{"input_tokens":3}}'));
    const response = new BufferedResponse(head(), body);
    const seen = body.parse();
    await expect(response.json()).resolves.toBe(seen);
  });

  it('gives text, arrayBuffer and blob with the exact bytes', async () => {
    const make = () => new BufferedResponse(head(), new BufferedJson(bytes('{"é":1}')));
    await expect(make().text()).resolves.toBe('{"é":1}');
    expect(new Uint8Array(await make().arrayBuffer())).toEqual(bytes('{"é":1}'));
    const blob = await make().blob();
    expect([blob.type, await blob.text()]).toEqual(['application/json', '{"é":1}']);
  });

  it('rejects invalid JSON with the SyntaxError a native json() gives', async () => {
    const ours = await new BufferedResponse(head(), new BufferedJson(bytes('{"cut'))).json().catch((e: unknown) => e);
    const theirs = await native('{"cut').json().catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(SyntaxError);
    expect(theirs).toBeInstanceOf(SyntaxError);
  });

  it('streams its body when asked, and is used up by reading the stream', async () => {
    const response = new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}')));
    const text = await new Response(response.body).text();
    expect(text).toBe('{"a":1}');
    expect(response.bodyUsed).toBe(true);
    await expect(response.json()).rejects.toBeInstanceOf(TypeError);
  });

  it('clones before a read into an independent response over the same bytes', async () => {
    const response = new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}')));
    const copy = response.clone();
    await expect(copy.json()).resolves.toEqual({ a: 1 });
    await expect(response.text()).resolves.toBe('{"a":1}');
    expect(copy.headers).toBe(response.headers);
  });

  it('a body already read cannot be streamed again, as with a native one', async () => {
    for (const response of [new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}'))), native('{"a":1}')]) {
      await response.json();
      expect(() => new Response(response.body)).toThrow(TypeError);
    }
  });

  it('as a native one: asking for the body does not use it, locking it stops every read, and clone needs an unlocked body', async () => {
    for (const make of [() => new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}'))), () => native('{"a":1}')]) {
      const asked = make();
      expect(asked.body).toBe(asked.body);
      expect(asked.bodyUsed).toBe(false);
      await expect(asked.clone().json()).resolves.toEqual({ a: 1 });
      await expect(asked.json()).resolves.toEqual({ a: 1 });
      expect(asked.bodyUsed).toBe(true);
      expect(asked.body!.locked).toBe(true);

      const locked = make();
      locked.body!.getReader();
      expect(locked.bodyUsed).toBe(false);
      await expect(locked.text()).rejects.toBeInstanceOf(TypeError);
      expect(() => locked.clone()).toThrow(TypeError);
    }
  });

  it('as a native one: a cancelled body is used, and a BYOB reader reads it', async () => {
    for (const make of [() => new BufferedResponse(head(), new BufferedJson(bytes('{"a":1}'))), () => native('{"a":1}')]) {
      const cancelled = make();
      await cancelled.body!.cancel();
      expect(cancelled.bodyUsed).toBe(true);
      await expect(cancelled.text()).rejects.toBeInstanceOf(TypeError);

      const byob = make();
      const reader = byob.body!.getReader({ mode: 'byob' });
      const { value } = await reader.read(new Uint8Array(64));
      expect(new TextDecoder().decode(value)).toBe('{"a":1}');
      expect((await reader.read(new Uint8Array(64))).done).toBe(true);
      expect(byob.bodyUsed).toBe(true);
    }
  });

  it('keeps the type of the response it was read from (a fetched one is basic)', () => {
    expect(new BufferedResponse({ ...head(), type: 'basic' }, new BufferedJson(bytes('{}'))).type).toBe('basic');
    expect(new BufferedResponse(head(), new BufferedJson(bytes('{}'))).type).toBe('default');
  });
});
