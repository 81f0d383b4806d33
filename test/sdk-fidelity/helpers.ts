/**
 * Shared stubs for the SDK-fidelity suite: every test drives `ResilientClaude` through a stub `fetch`,
 * never the network.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach } from 'vitest';
import { ResilientClaude, type ResilientClaudeOptions } from '../../src';

/** A JSON response (default body `{ a: 1 }`). */
export function json(body: unknown = { a: 1 }, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(body), { ...init, headers });
}

/** An Anthropic-shaped error response. */
export function apiError(status: number, type = 'api_error', headers: Record<string, string> = {}): Response {
  return json({ type: 'error', error: { type, message: `${type} (${status})` } }, { status, headers });
}

/** A complete Messages API response body. */
export const MESSAGE = {
  id: 'msg_fixture',
  type: 'message',
  role: 'assistant',
  content: [{ type: 'text', text: 'Hello there!' }],
  model: 'claude-test',
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 2 },
} as const;

/** Minimal `messages.create` params. */
export const PARAMS = {
  model: 'claude-test',
  max_tokens: 16,
  messages: [{ role: 'user' as const, content: 'hi' }],
};

/** The SSE events of a complete streamed message saying "Hello there!". */
export const STREAM_EVENTS: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['message_start', { type: 'message_start', message: { ...MESSAGE, content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } }],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there!' } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }],
  ['message_stop', { type: 'message_stop' }],
];

export const STREAM_EVENT_TYPES = STREAM_EVENTS.map(([type]) => type);

/** SSE text of the given events. */
export function sseText(events: ReadonlyArray<readonly [string, unknown]> = STREAM_EVENTS): string {
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');
}

/** A `text/event-stream` response whose body is `text`, optionally cut into chunks of `chunkSize` bytes. */
export function sse(text: string = sseText(), chunkSize?: number, headers: Record<string, string> = {}): Response {
  const bytes = new TextEncoder().encode(text);
  const body =
    chunkSize === undefined
      ? text
      : new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += chunkSize) controller.enqueue(bytes.slice(i, i + chunkSize));
            controller.close();
          },
        });
  return new Response(body, { headers: { 'content-type': 'text/event-stream', ...headers } });
}

/** Abort listeners currently registered on `signal`. */
export function listenerCount(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** A promise that rejects with an `AbortError` once `signal` aborts (never settles otherwise). */
export function untilAborted(signal: AbortSignal | null | undefined, error?: unknown): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = () => reject(error ?? new DOMException('The operation was aborted.', 'AbortError'));
    if (signal?.aborted) fail();
    else signal?.addEventListener('abort', fail, { once: true });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` so a hang fails fast with a clear message instead of hitting the test timeout. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves to the rejection reason of `promise`, or fails if it resolves. */
export async function rejectionOf(promise: PromiseLike<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Reads a header from whatever `init.headers` a stub fetch receives. */
export function header(init: RequestInit | undefined, name: string): string | null {
  return new Headers(init?.headers).get(name);
}

/** Fetch type accepted by the client's `fetch` option. */
export type StubFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A client for tests where backoff length and log output are irrelevant: static key, our logger off, a 1 ms
 * backoff base. Everything can be overridden.
 */
export function makeClient(options: ResilientClaudeOptions = {}): ResilientClaude {
  return new ResilientClaude({
    apiKey: 'sk-test',
    logger: false,
    retry: { baseDelayMs: 1 },
    ...options,
  });
}

/** Environment variables that change client construction; cleared around every test of a suite. */
export const CLIENT_ENV = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_LOG',
  'ANTHROPIC_CONFIG_DIR',
  'ANTHROPIC_PROFILE',
  'ANTHROPIC_IDENTITY_TOKEN',
  'ANTHROPIC_IDENTITY_TOKEN_FILE',
  'ANTHROPIC_FEDERATION_RULE_ID',
  'ANTHROPIC_ORGANIZATION_ID',
  'ANTHROPIC_WORKSPACE_ID',
  'ANTHROPIC_CUSTOM_HEADERS',
  'ANTHROPIC_WEBHOOK_SIGNING_KEY',
] as const;

/** Registers hooks that clear {@link CLIENT_ENV} before each test and restore it after. */
export function isolateEnv(names: readonly string[] = CLIENT_ENV): void {
  const saved = new Map<string, string | undefined>();
  beforeEach(() => {
    for (const name of names) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
  });
}

/** A logger in the SDK's shape that records every call as `[level, ...args]`. */
export function recordingLogger(): { logger: { error: (...a: unknown[]) => void; warn: (...a: unknown[]) => void; info: (...a: unknown[]) => void; debug: (...a: unknown[]) => void }; lines: unknown[][] } {
  const lines: unknown[][] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push([level, ...args]);
    };
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, lines };
}
