import { describe, expect, it } from 'vitest';
import { isEventStream, isJson, isMessagesCreate, withBody } from './http';

describe('withBody', () => {
  const original = () => {
    const response = new Response('old', { status: 201, statusText: 'Made', headers: { 'content-type': 'application/json', 'request-id': 'req_1' } });
    Object.defineProperty(response, 'url', { value: 'https://api.example/v1/messages' });
    return response;
  };

  it('keeps status, headers (the same object, not a copy) and url, with the new body', async () => {
    const from = original();
    const response = withBody(from, '{"a":1}');
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers).toBe(from.headers);
    expect(response.url).toBe('https://api.example/v1/messages');
    expect(await response.json()).toEqual({ a: 1 });
  });

  it('clone() keeps the headers and url too, and both bodies read in full', async () => {
    const response = withBody(original(), 'body');
    const copy = response.clone();
    expect(copy.clone().headers.get('content-type')).toBe('application/json');
    expect(copy.headers.get('request-id')).toBe('req_1');
    expect(copy.url).toBe('https://api.example/v1/messages');
    expect(await copy.text()).toBe('body');
    expect(await response.text()).toBe('body');
  });

  it('new Response(body, response), as the SDK tells middleware to do, keeps the headers', async () => {
    const replaced = new Response('x', withBody(original(), 'y'));
    expect(replaced.headers.get('request-id')).toBe('req_1');
  });
});

describe('predicates', () => {
  it('isMessagesCreate: POST /v1/messages only, with or without a query', () => {
    expect(isMessagesCreate('POST', '/v1/messages')).toBe(true);
    expect(isMessagesCreate('POST', '/v1/messages?beta=true')).toBe(true);
    expect(isMessagesCreate('POST', '/v1/messages/count_tokens')).toBe(false);
    expect(isMessagesCreate('POST', '/v1/messages/batches')).toBe(false);
    expect(isMessagesCreate('GET', '/v1/messages')).toBe(false);
  });

  it('isEventStream and isJson read the content type', () => {
    expect(isEventStream(new Response('', { headers: { 'content-type': 'text/event-stream; charset=utf-8' } }))).toBe(true);
    expect(isJson(new Response('', { headers: { 'content-type': 'application/json' } }))).toBe(true);
    expect(isJson(new Response('', { headers: { 'content-type': 'application/problem+json' } }))).toBe(true);
    expect(isJson(new Response('', { headers: { 'content-type': 'application/x-ndjson' } }))).toBe(false);
  });
});
