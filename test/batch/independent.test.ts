/**
 * Batching against a tiny batch server written here from the API reference, not the fake server the
 * client was built on: results come back in another order than sent, usage carries no `service_tier`,
 * an errored request has the API's nested error shape with its own request id, the batch stays
 * `in_progress` for a few checks, the first create is rate limited with `retry-after`, and the first
 * results download fails with a 500. Every call must still get its own answer, priced at half.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadRequestError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { callOptions } from '../../src/call-options';
import { ResilientClaude } from '../../src/client';

interface Recorded {
  method: string;
  path: string;
}

async function startBatchServer() {
  const requests: Recorded[] = [];
  const batches = new Map<string, { customIds: string[]; prompts: string[]; checks: number }>();
  let creates = 0;
  let downloads = 0;
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_srv_${requests.length}`, ...headers });
    res.end(JSON.stringify(body));
  };
  const view = (id: string, status: 'in_progress' | 'ended', n: number, base: string) => ({
    id,
    type: 'message_batch',
    processing_status: status,
    request_counts: status === 'ended' ? { processing: 0, succeeded: n - 1, errored: 1, canceled: 0, expired: 0 } : { processing: n, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    ended_at: status === 'ended' ? '2026-12-07T10:00:00Z' : null,
    created_at: '2026-12-07T09:00:00Z',
    expires_at: '2026-12-08T09:00:00Z',
    archived_at: null,
    cancel_initiated_at: null,
    results_url: status === 'ended' ? `${base}/v1/messages/batches/${id}/results` : null,
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ method: req.method ?? '', path });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.method === 'POST' && path === '/v1/messages/batches') {
        if (++creates === 1) return send(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, { 'retry-after': '0' });
        const body = JSON.parse(raw) as { requests: { custom_id: string; params: { messages: { content: string }[] } }[] };
        const id = `msgbatch_ind${batches.size + 1}`;
        batches.set(id, { customIds: body.requests.map((r) => r.custom_id), prompts: body.requests.map((r) => r.params.messages[0]!.content), checks: 0 });
        return send(res, 200, view(id, 'in_progress', body.requests.length, base));
      }
      const match = /^\/v1\/messages\/batches\/([^/]+)(\/results)?$/.exec(path);
      const batch = match ? batches.get(match[1]!) : undefined;
      if (match && batch && req.method === 'GET' && !match[2]) {
        batch.checks++;
        return send(res, 200, view(match[1]!, batch.checks >= 3 ? 'ended' : 'in_progress', batch.customIds.length, base));
      }
      if (match && batch && match[2]) {
        if (++downloads === 1) return send(res, 500, { type: 'error', error: { type: 'api_error', message: 'try again' } });
        // Another order than sent; the last request errored, in the API's nested shape.
        const lines = batch.customIds.map((custom_id, i) =>
          i === batch.customIds.length - 1
            ? { custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: too large' }, request_id: 'req_item_9' } } }
            : {
                custom_id,
                result: {
                  type: 'succeeded',
                  message: {
                    id: `msg_${i}`,
                    type: 'message',
                    role: 'assistant',
                    model: 'claude-sonnet-4-6',
                    content: [{ type: 'text', text: `echo: ${batch.prompts[i]}` }],
                    stop_reason: 'end_turn',
                    stop_sequence: null,
                    container: null,
                    usage: { input_tokens: 1_000, output_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
                  },
                },
              },
        );
        res.writeHead(200, { 'content-type': 'application/binary' });
        return res.end(lines.reverse().map((l) => JSON.stringify(l)).join('\n') + '\n');
      }
      send(res, 500, { type: 'error', error: { type: 'api_error', message: `unexpected ${req.method} ${path}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe('batching against an independent batch server', () => {
  it('matches each call to its own result by custom_id, survives a 429 and a failed download, and prices at half', async () => {
    const server = await startBatchServer();
    const client = new ResilientClaude({
      apiKey: 'k',
      baseURL: server.url,
      logger: false,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      batch: { maxDelayMs: 10, pollIntervalMs: 5, maxPollIntervalMs: 20 },
    });
    cleanup.push(() => client.close(), server.close);
    const prompts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const settled = await Promise.allSettled(
      prompts.map((content) =>
        client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 300, messages: [{ role: 'user', content }] }, callOptions({ batch: true })),
      ),
    );
    for (let i = 0; i < 4; i++) {
      expect(settled[i]).toMatchObject({ status: 'fulfilled', value: { content: [{ type: 'text', text: `echo: ${prompts[i]}` }] } });
    }
    const error = (settled[4] as PromiseRejectedResult).reason as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toContain('max_tokens: too large');
    expect(error.requestID).toBe('req_item_9');

    expect(server.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(0);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(2); // the 429, then the batch
    // Four answers of 1,000 input and 200 output tokens at Sonnet 4.6's $3 / $15 per million, halved.
    const summary = client.costs.summary();
    expect(summary.exactUsd).toBe('0.012');
    expect(summary.savedUsd).toBe(0.012);
  });
});
