import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callState, type CallState } from '../call-state';
import type { CallRecord } from '../events';
import type { MutableRecord } from '../call-outcome';
import { createLayerContext } from '../outer-chain';
import type { FinalRequestOptions, SdkLogger } from '../sdk-types';
import {
  SPAN_ATTRIBUTES,
  callSpanAttributes,
  captureCallSpan,
  createSpanEnrichmentHook,
  setCallSpanAttributes,
  spanEnrichmentHook,
} from './span-enrichment';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();
const silent: SdkLogger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});
beforeEach(() => exporter.reset());

function stateWith(span: Span | undefined, extra: Partial<FinalRequestOptions> = {}): CallState {
  const options = {
    method: 'post',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [] },
    ...(span ? { __span: { span, name: 'anthropic.messages.create', startTime: Date.now() } } : {}),
    ...extra,
  } as FinalRequestOptions;
  return callState(createLayerContext(options, silent))!;
}

function record(state: CallState, extra: Partial<CallRecord> = {}): MutableRecord {
  return { callId: state.id, method: 'POST', path: '/v1/messages', stream: false, attempts: 1, ok: true, latencyMs: 1, rateLimitWaitMs: 0, ...extra };
}

function finished(name = 'call') {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

describe('captureCallSpan', () => {
  it('returns the span the SDK carries in the request options', () => {
    const span = tracer.startSpan('call');
    expect(captureCallSpan(stateWith(span).options)).toBe(span);
    span.end();
  });

  it('with options but no SDK span, returns undefined even when the application has a span active', () => {
    tracer.startActiveSpan('app', (app) => {
      expect(captureCallSpan(stateWith(undefined).options)).toBeUndefined();
      expect(captureCallSpan()).toBe(app); // the no-argument form is the active span, whoever owns it
      app.end();
    });
  });

  it('ignores an __span that is not a span', () => {
    const options = { method: 'get', path: '/v1/models', __span: { span: { nope: true } } } as unknown as FinalRequestOptions;
    expect(captureCallSpan(options)).toBeUndefined();
  });
});

describe('setCallSpanAttributes', () => {
  it('sets attributes on a recording span', () => {
    const span = tracer.startSpan('call');
    expect(setCallSpanAttributes(span, { a: 1 })).toBe(true);
    span.end();
    expect(finished()[0]?.attributes).toEqual({ a: 1 });
  });

  it('leaves an ended span alone, quietly', () => {
    const span = tracer.startSpan('call');
    span.end();
    expect(setCallSpanAttributes(span, { a: 1 })).toBe(false);
    expect(finished()[0]?.attributes).toEqual({});
  });

  it('never throws, whatever the span does', () => {
    const broken = {
      isRecording: () => true,
      setAttributes: () => {
        throw new Error('exporter on fire');
      },
      spanContext: () => ({ traceId: '', spanId: '', traceFlags: 0 }),
    } as unknown as Span;
    expect(setCallSpanAttributes(broken, { a: 1 })).toBe(false);
    expect(setCallSpanAttributes(undefined, { a: 1 })).toBe(false);
  });
});

describe('callSpanAttributes', () => {
  it('maps the call state and record; absent facts are absent, not undefined', () => {
    const state = stateWith(undefined);
    state.tries.attempts = 3;
    state.tries.retries = 2;
    state.rateLimitWaitMs = 12.6;
    expect(callSpanAttributes(state)).toEqual({
      [SPAN_ATTRIBUTES.callId]: state.id,
      [SPAN_ATTRIBUTES.attempts]: 3,
      [SPAN_ATTRIBUTES.retries]: 2,
      [SPAN_ATTRIBUTES.rateLimitWaitMs]: 13,
    });

    state.breakerScope = 'claude-sonnet-4-6';
    state.notes.keyAlias = 'key-2';
    const attributes = callSpanAttributes(
      state,
      { breakerState: (scope) => (scope === 'claude-sonnet-4-6' ? 'halfOpen' : undefined) },
      record(state, { attempts: 3, ok: false, errorClass: 'OverloadedError', failureReason: 'overloaded', costUsd: 0.0123 }),
    );
    expect(attributes).toMatchObject({
      [SPAN_ATTRIBUTES.breakerScope]: 'claude-sonnet-4-6',
      [SPAN_ATTRIBUTES.breakerState]: 'halfOpen',
      [SPAN_ATTRIBUTES.keyAlias]: 'key-2',
      [SPAN_ATTRIBUTES.errorClass]: 'OverloadedError',
      [SPAN_ATTRIBUTES.failureReason]: 'overloaded',
      [SPAN_ATTRIBUTES.costUsd]: 0.0123,
    });
    expect(Object.values(attributes).every((v) => v !== undefined)).toBe(true);
  });

  it('prefers a keyAlias field on the call state over the note', () => {
    const state = stateWith(undefined);
    state.notes.keyAlias = 'key-1';
    Object.assign(state, { keyAlias: 'key-3' });
    expect(callSpanAttributes(state)[SPAN_ATTRIBUTES.keyAlias]).toBe('key-3');
  });
});

describe('spanEnrichmentHook', () => {
  it('adds cost and error class from the record to the SDK span, and creates no span', () => {
    const span = tracer.startSpan('call');
    const state = stateWith(span);
    state.tries.attempts = 1;
    createSpanEnrichmentHook({ breakerState: () => 'closed' })(
      state,
      { ok: true, status: 200, stream: false },
      record(state, { costUsd: 0.5 }),
    );
    span.end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(finished()[0]?.attributes).toMatchObject({ [SPAN_ATTRIBUTES.costUsd]: 0.5, [SPAN_ATTRIBUTES.attempts]: 1 });
  });

  it('does nothing without an SDK span, and nothing to an ended one', () => {
    tracer.startActiveSpan('app', (app) => {
      const state = stateWith(undefined);
      spanEnrichmentHook(state, { ok: true, stream: false }, record(state));
      app.end();
    });
    const ended = tracer.startSpan('call');
    ended.end();
    const state = stateWith(ended);
    expect(() => spanEnrichmentHook(state, { ok: false, stream: true }, record(state, { ok: false, errorClass: 'APIUserAbortError' }))).not.toThrow();
    expect(finished('app')[0]?.attributes).toEqual({});
    expect(finished()[0]?.attributes).toEqual({});
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
