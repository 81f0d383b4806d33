/**
 * A tiny scripted Anthropic-shaped server for outage and fault tests — deliberately independent of
 * `src/testing` (the fake server the library was tuned on). It knows nothing about our client: each
 * request's fate is decided by a script, so tests and benchmarks measure behaviour the library did not
 * get to see while it was being tuned. Like many real proxies, it sends no `anthropic-ratelimit-*`
 * headers unless a behaviour asks for them. node:http only.
 *
 *   const server = await ScriptedServer.start((req) => (req.at < 5_000 ? b.status(529, 'overloaded_error') : b.ok()));
 *   const client = new Anthropic({ apiKey: 'k', baseURL: server.url });
 *   …; server.requests; await server.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { kind: 'ok'; latencyMs?: number; deltas?: number; pings?: boolean; headers?: Record<string, string> }
  | { kind: 'status'; code: number; errorType: string; headers?: Record<string, string>; latencyMs?: number }
  | { kind: 'reset' }
  | { kind: 'stallBeforeHeaders' }
  | { kind: 'stallBody'; afterBytes: number }
  | { kind: 'stallAfterContent'; afterDeltas: number }
  | { kind: 'cutBody'; afterBytes: number }
  | { kind: 'cutStream'; afterDeltas: number }
  | { kind: 'sseErrorAfter'; deltas: number; errorType: string }
  | { kind: 'pingsOnly'; everyMs: number; forMs: number };

/** Behaviour builders. */
export const b = {
  ok: (latencyMs = 0, more: Omit<Extract<Behaviour, { kind: 'ok' }>, 'kind' | 'latencyMs'> = {}): Behaviour => ({ kind: 'ok', latencyMs, ...more }),
  status: (code: number, errorType: string, headers?: Record<string, string>): Behaviour => ({ kind: 'status', code, errorType, headers }),
  reset: (): Behaviour => ({ kind: 'reset' }),
  stallBeforeHeaders: (): Behaviour => ({ kind: 'stallBeforeHeaders' }),
  /** JSON: headers and the first `afterBytes` bytes, then silence. SSE: message_start, then silence. */
  stallBody: (afterBytes = 20): Behaviour => ({ kind: 'stallBody', afterBytes }),
  /** SSE: `afterDeltas` deltas, then silence (JSON: like stallBody(20)). */
  stallAfterContent: (afterDeltas = 1): Behaviour => ({ kind: 'stallAfterContent', afterDeltas }),
  /** JSON: headers and the first `afterBytes` bytes of the body, then the socket is destroyed. */
  cutBody: (afterBytes = 20): Behaviour => ({ kind: 'cutBody', afterBytes }),
  /** SSE: `afterDeltas` deltas, then the socket is destroyed (JSON: like cutBody(20)). */
  cutStream: (afterDeltas = 1): Behaviour => ({ kind: 'cutStream', afterDeltas }),
  /** SSE: `deltas` deltas, then `event: error` and the end of the stream (JSON: the same error as a 500). */
  sseErrorAfter: (deltas = 1, errorType = 'overloaded_error'): Behaviour => ({ kind: 'sseErrorAfter', deltas, errorType }),
  /** SSE: message_start, then only pings every `everyMs` for `forMs`, then the content. JSON: `forMs` of latency. */
  pingsOnly: (everyMs: number, forMs: number): Behaviour => ({ kind: 'pingsOnly', everyMs, forMs }),
};

export interface ScriptRequest {
  /** 1-based arrival order. */
  readonly n: number;
  readonly body: any;
  /** Ms since the server's clock started (start, or the last `resetClock()`). */
  readonly at: number;
  readonly path: string;
}

/** A function of the request, or a schedule consumed in order (then `ok`). */
export type Script = ((req: ScriptRequest) => Behaviour) | readonly Behaviour[];

export interface RequestRecord {
  readonly n: number;
  readonly at: number;
  readonly path: string;
  stream: boolean;
  /** The behaviour's kind; for `status`, e.g. `status 529`. */
  outcome: string;
  /** The connection closed (either side) before the response was complete: aborts, cuts, resets, stalls. */
  clientClosed: boolean;
  /** When the connection for this response closed or the response ended (same clock as `at`). */
  endedAt?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sse = (event: string, data: object) => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
const errorBody = (errorType: string, n: number) =>
  JSON.stringify({ type: 'error', error: { type: errorType, message: `scripted ${errorType}` }, request_id: `req_${n}` });

export class ScriptedServer {
  readonly requests: RequestRecord[] = [];
  #script: Script;
  #scheduleIndex = 0;
  #t0 = performance.now();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<ReturnType<typeof setInterval>>();

  private constructor(
    private readonly server: Server,
    script: Script,
  ) {
    this.#script = script;
  }

  static async start(script: Script = []): Promise<ScriptedServer> {
    const server = createServer();
    const scripted = new ScriptedServer(server, script);
    server.on('connection', (socket) => {
      scripted.#sockets.add(socket);
      socket.on('close', () => scripted.#sockets.delete(socket));
    });
    server.on('request', (req, res) => void scripted.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return scripted;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  setScript(script: Script): void {
    this.#script = script;
    this.#scheduleIndex = 0;
  }

  /** Restarts the clock that `req.at` and `RequestRecord.at` are measured on. */
  resetClock(): void {
    this.#t0 = performance.now();
  }

  /** Closes the server and destroys every socket, hanging ones included. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now() - this.#t0;
    const n = this.requests.length + 1;
    const path = (req.url ?? '').split('?')[0]!;
    const record: RequestRecord = { n, at, path, stream: false, outcome: 'pending', clientClosed: false };
    this.requests.push(record);
    res.on('close', () => {
      record.clientClosed ||= !res.writableFinished;
      record.endedAt = performance.now() - this.#t0;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    } catch {
      return this.#finish(record, res, 'bad json', 400, errorBody('invalid_request_error', n));
    }
    const isMessages = req.method === 'POST' && path === '/v1/messages';
    if (!isMessages && !(req.method === 'POST' && path === '/v1/messages/count_tokens')) {
      return this.#finish(record, res, 'not found', 404, errorBody('not_found_error', n));
    }
    const stream = isMessages && body.stream === true;
    record.stream = stream;
    const script = this.#script;
    const behaviour = typeof script === 'function' ? script({ n, body, at, path }) : (script[this.#scheduleIndex++] ?? b.ok());
    record.outcome = behaviour.kind === 'status' ? `status ${behaviour.code}` : behaviour.kind;
    const headers = { 'request-id': `req_${n}`, ...('headers' in behaviour ? behaviour.headers : {}) };
    const content = isMessages ? message(n, body) : { input_tokens: tokens(body) };

    switch (behaviour.kind) {
      case 'reset':
        return void req.socket.destroy();
      case 'stallBeforeHeaders':
        return;
      case 'status':
        await sleep(behaviour.latencyMs ?? 0);
        return this.#finish(record, res, record.outcome, behaviour.code, errorBody(behaviour.errorType, n), headers);
    }
    if (!stream) {
      const json = JSON.stringify(content);
      if (behaviour.kind === 'ok' || behaviour.kind === 'pingsOnly') {
        await sleep(behaviour.kind === 'ok' ? (behaviour.latencyMs ?? 0) : behaviour.forMs);
        return this.#finish(record, res, record.outcome, 200, json, headers);
      }
      if (behaviour.kind === 'sseErrorAfter') return this.#finish(record, res, record.outcome, 500, errorBody(behaviour.errorType, n), headers);
      const cut = behaviour.kind === 'cutBody' || behaviour.kind === 'cutStream';
      const bytes = 'afterBytes' in behaviour ? behaviour.afterBytes : 20;
      res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.write(json.slice(0, bytes));
      if (cut) setTimeout(() => res.socket?.destroy(), 20); // let the partial body leave first
      return;
    }

    // SSE
    if (behaviour.kind === 'ok') await sleep(behaviour.latencyMs ?? 0);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const msg = content as ReturnType<typeof message>;
    const words = msg.content[0]!.text.split(/(?<= )/);
    const send = (event: string, data: object = {}) => res.write(sse(event, data));
    send('message_start', { message: { ...msg, content: [], stop_reason: null, usage: { ...msg.usage, output_tokens: 1 } } });
    if (behaviour.kind === 'stallBody') return;
    if (behaviour.kind === 'ok' && behaviour.pings) send('ping');
    if (behaviour.kind === 'pingsOnly') {
      const timer = setInterval(() => send('ping'), behaviour.everyMs);
      this.#timers.add(timer);
      await sleep(behaviour.forMs);
      clearInterval(timer);
      this.#timers.delete(timer);
      if (res.destroyed) return;
    }
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    const stopAfter =
      behaviour.kind === 'stallAfterContent' ? behaviour.afterDeltas
      : behaviour.kind === 'cutStream' || behaviour.kind === 'cutBody' ? ('afterDeltas' in behaviour ? behaviour.afterDeltas : 1)
      : behaviour.kind === 'sseErrorAfter' ? behaviour.deltas
      : Infinity;
    for (const [i, word] of words.entries()) {
      if (i >= stopAfter) break;
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } });
    }
    if (behaviour.kind === 'stallAfterContent') return;
    if (behaviour.kind === 'cutStream' || behaviour.kind === 'cutBody') return void setTimeout(() => res.socket?.destroy(), 20);
    if (behaviour.kind === 'sseErrorAfter') {
      res.end(sse('error', { error: { type: behaviour.errorType, message: `scripted ${behaviour.errorType}` } }));
      return;
    }
    send('content_block_stop', { index: 0 });
    send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: msg.usage.output_tokens } });
    res.end(sse('message_stop', {}));
  }

  #finish(record: RequestRecord, res: ServerResponse, outcome: string, code: number, body: string, headers: Record<string, string> = {}) {
    record.outcome = outcome;
    if (res.destroyed) return;
    res.writeHead(code, { 'request-id': `req_${record.n}`, ...headers, 'content-type': 'application/json' });
    res.end(body);
  }
}

/** A rough, deterministic token count: one per 4 characters of the JSON of messages and system. */
function tokens(body: any): number {
  return Math.max(1, Math.ceil(JSON.stringify([body?.system ?? '', body?.messages ?? []]).length / 4));
}

function message(n: number, body: any) {
  const words = Math.max(1, Math.min(Number(body?.max_tokens) || 5, 5));
  const text = Array.from({ length: words }, (_, i) => `word${i}`).join(' ');
  return {
    id: `msg_scripted_${n}`,
    type: 'message' as const,
    role: 'assistant' as const,
    model: String(body?.model ?? 'unknown'),
    content: [{ type: 'text' as const, text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: tokens(body), output_tokens: words },
  };
}
