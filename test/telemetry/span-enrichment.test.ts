import { context, SpanStatusCode, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callState, type CallState } from '../../src/call-state';
import { ResilientClaude } from '../../src/client';
import type { CallRecord } from '../../src/events';
import { KeyPool } from '../../src/keys';
import { createKeysLayer } from '../../src/layers/keys';
import type { ResilientClaudeOptions } from '../../src/options';
import type { Middleware } from '../../src/sdk-types';
import { SPAN_ATTRIBUTES, captureCallSpan, createSpanEnrichmentHook, createSpanEnrichmentLayer } from '../../src/telemetry';
import { FakeAnthropicServer, faults } from '../../src/testing';
import { fastRetry, params } from '../helpers/setup';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});

/**
 * Test-only wiring until the lead registers the hook: a probe middleware remembers each call's state,
 * and the `callComplete` listener — emitted synchronously right after the completion hooks — runs the
 * enrichment hook, so it sees the span exactly when a registered hook would.
 */
class TracedClient extends ResilientClaude {
  readonly states = new Map<string, CallState>();
  readonly inLayers: { active: Span | undefined; carried: Span | undefined }[] = [];
  extraLayers: Middleware[] = [];
  readonly #probe: Middleware = async (request, next, ctx) => {
    const state = callState(ctx);
    if (state) this.states.set(state.id, state);
    this.inLayers.push({ active: captureCallSpan(), carried: captureCallSpan(ctx.options) });
    return next(request);
  };
  protected override backendMiddleware(): ReadonlyArray<Middleware> {
    return [this.#probe, ...this.extraLayers, ...super.backendMiddleware()];
  }
}

let server: FakeAnthropicServer;
const clients: ResilientClaude[] = [];
beforeEach(async () => {
  exporter.reset();
  server = await FakeAnthropicServer.start();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

function traced(options: ResilientClaudeOptions = {}): { client: TracedClient; records: CallRecord[]; hookFailures: unknown[] } {
  const client = new TracedClient({
    apiKey: 'test-key',
    baseURL: server.url,
    logger: false,
    retry: fastRetry,
    openTelemetry: { tracerProvider: provider },
    ...options,
  });
  clients.push(client);
  const hook = createSpanEnrichmentHook({ breakerState: (scope) => client.health().breakers[scope]?.state });
  const records: CallRecord[] = [];
  const hookFailures: unknown[] = [];
  client.on('callComplete', (record) => {
    records.push(record);
    const state = client.states.get(record.callId);
    if (!state) return;
    try {
      hook(state, { ok: record.ok, stream: record.stream, ...(record.errorClass ? { errorClass: record.errorClass } : {}) }, { ...record });
    } catch (error) {
      hookFailures.push(error);
    }
  });
  return { client, records, hookFailures };
}

function ours(span: ReadableSpan | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(span?.attributes ?? {}).filter(([k]) => k.startsWith('resilient_claude.')));
}

/** Waits until the SDK has ended `n` spans (a stream's span ends when its read ends). */
async function spans(n: number): Promise<ReadableSpan[]> {
  await expect.poll(() => exporter.getFinishedSpans().length).toBe(n);
  return exporter.getFinishedSpans();
}

/**
 * A fetch whose SSE bodies deliver their first event (`message_start`) at once and the rest only after
 * `open()`: a stream abandoned before `open()` is certainly abandoned before its body arrived.
 */
function heldStreamFetch(): { fetch: typeof globalThis.fetch; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (!(response.headers.get('content-type') ?? '').includes('event-stream')) return response;
    const text = await response.text();
    const cut = text.indexOf('\n\n') + 2;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(text.slice(0, cut)));
      },
      async pull(controller) {
        await gate;
        controller.enqueue(encoder.encode(text.slice(cut)));
        controller.close();
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch, open };
}

describe('span enrichment on the SDK call span', () => {
  it('puts our facts on the one span the SDK emits per call, and adds no span', async () => {
    server.inject(faults.overloaded(), { times: 1 });
    const { client, records } = traced();
    await client.messages.create(params);

    const [span] = await spans(1);
    expect(span?.name).toBe('anthropic.messages.create');
    expect(span?.instrumentationScope.name).toBe('com.anthropic.sdk.typescript');
    expect(span?.attributes['gen_ai.request.model']).toBe(params.model); // the SDK's own attributes are there
    const cost = records[0]?.costUsd; // present once the client prices calls (its cost hook runs first)
    expect(ours(span)).toEqual({
      [SPAN_ATTRIBUTES.callId]: records[0]?.callId,
      [SPAN_ATTRIBUTES.attempts]: 2,
      [SPAN_ATTRIBUTES.retries]: 1,
      [SPAN_ATTRIBUTES.breakerScope]: 'default',
      [SPAN_ATTRIBUTES.breakerState]: 'closed',
      [SPAN_ATTRIBUTES.rateLimitWaitMs]: 0,
      ...(cost !== undefined ? { [SPAN_ATTRIBUTES.costUsd]: cost } : {}),
    });
  });

  it('inside our layers, the active span is the SDK call span the request options carry', async () => {
    const { client } = traced();
    await client.messages.create(params);
    await client.messages.countTokens({ model: params.model, messages: params.messages });
    expect(client.inLayers).toHaveLength(2);
    for (const seen of client.inLayers) {
      expect(seen.carried).toBeDefined();
      expect(seen.active).toBe(seen.carried);
    }
    const all = await spans(2);
    expect(all.map((s) => s.name)).toEqual(['anthropic.messages.create', 'anthropic.messages.count_tokens']);
    expect(all.every((s) => s.attributes[SPAN_ATTRIBUTES.attempts] === 1)).toBe(true);
  });

  it('a failed call: error class and failure reason beside the SDK error status', async () => {
    server.outage(faults.serverError(500));
    const { client } = traced({ maxRetries: 1 });
    await expect(client.messages.create(params)).rejects.toMatchObject({ status: 500 });
    const [span] = await spans(1);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(ours(span)).toMatchObject({
      [SPAN_ATTRIBUTES.attempts]: 2,
      [SPAN_ATTRIBUTES.retries]: 1,
      [SPAN_ATTRIBUTES.errorClass]: 'InternalServerError',
      [SPAN_ATTRIBUTES.failureReason]: 'server_error',
    });
  });

  it('records the alias of the pooled key, never the key', async () => {
    const { client } = traced();
    client.extraLayers = [createKeysLayer(new KeyPool({ apiKeys: ['sk-test-span-key-one-51c2', 'sk-test-span-key-two-9ad0'] }))];
    await client.messages.create(params);
    await client.messages.create(params);
    const all = await spans(2);
    expect(all.map((s) => s.attributes[SPAN_ATTRIBUTES.keyAlias])).toEqual(['key-1', 'key-2']);
    expect(JSON.stringify(all.map((s) => s.attributes))).not.toContain('sk-test-span-key');
  });

  it('a stream read to the end is enriched at its end, while the SDK span still records', async () => {
    const { client, records } = traced();
    const stream = await client.messages.create({ ...params, stream: true });
    for await (const _event of stream) {
      // read it all
    }
    const [span] = await spans(1);
    expect(records).toHaveLength(1);
    expect(span?.status.code).toBe(SpanStatusCode.OK);
    expect(ours(span)).toMatchObject({ [SPAN_ATTRIBUTES.callId]: records[0]?.callId, [SPAN_ATTRIBUTES.attempts]: 1 });
    expect(span?.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
  });

  it('an abandoned stream: the SDK ends its span first; the hook leaves it alone, the layer got there before', async () => {
    for (const withLayer of [false, true]) {
      exporter.reset();
      const held = heldStreamFetch();
      const { client, records, hookFailures } = traced({ fetch: held.fetch });
      if (withLayer) client.extraLayers = [createSpanEnrichmentLayer()];
      const stream = await client.messages.create({ ...params, stream: true });
      for await (const _event of stream) break; // abandoned after message_start; the rest is held back
      const [span] = await spans(1);
      held.open();
      await expect.poll(() => records.length).toBe(1);
      expect(records[0]).toMatchObject({ ok: false, errorClass: 'APIUserAbortError' });
      expect(hookFailures).toEqual([]);
      // Whatever the hook knew at the end (the error class) could not reach the ended span.
      expect(span?.attributes[SPAN_ATTRIBUTES.errorClass]).toBeUndefined();
      if (withLayer) expect(ours(span)).toMatchObject({ [SPAN_ATTRIBUTES.callId]: records[0]?.callId, [SPAN_ATTRIBUTES.attempts]: 1 });
      else expect(ours(span)).toEqual({});
    }
  });

  it('with SDK tracing off, nothing is written on the application span around the call', async () => {
    const { client } = traced({ openTelemetry: false });
    client.extraLayers = [createSpanEnrichmentLayer()];
    const tracer = provider.getTracer('app');
    await tracer.startActiveSpan('app', async (app) => {
      await client.messages.create(params);
      const stream = await client.messages.create({ ...params, stream: true });
      for await (const _event of stream) {
        // read it all
      }
      app.end();
    });
    const all = await spans(1);
    expect(all[0]?.name).toBe('app');
    expect(ours(all[0])).toEqual({});
    expect(client.inLayers.every((seen) => seen.carried === undefined)).toBe(true);
  });
});
