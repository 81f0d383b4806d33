/**
 * Logging stays as quiet as the SDK's (catalogue §3.1 "logging", §3.2 "ctx.logger", §3.9; R12): with an
 * SDK-style logger, nothing of ours at warn or above on construction or on a successful call, nothing at all
 * at `logLevel: 'off'`, and the SDK's own lines unchanged.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, test, vi } from 'vitest';
import pino from 'pino';
import { ResilientClaude, type ResilientClaudeOptions } from '../../src';
import { apiError, isolateEnv, json, MESSAGE, PARAMS, recordingLogger, rejectionOf, sse } from './helpers';

isolateEnv();

afterEach(() => {
  vi.restoreAllMocks();
});

const atLeastWarn = (lines: unknown[][]) => lines.filter(([level]) => level === 'warn' || level === 'error');

describe('with an SDK-style logger', () => {
  test('the constructor logs nothing', () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger });
    expect(client.logLevel).toBe('warn');
    expect(lines).toEqual([]);
    client.withOptions({ timeout: 1000 });
    expect(lines).toEqual([]);
  });

  test('successful calls (JSON, stream, list) log nothing at the default level', async () => {
    const { logger, lines } = recordingLogger();
    // The API's rate-limit headers, as on every real response (without them we warn once: see below).
    const limits = {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1_200).toISOString(),
    };
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      fetch: async (url, init) => {
        const body = typeof init?.body === 'string' ? JSON.parse(init.body) : {};
        if (String(url).includes('/batches')) return json({ data: [], has_more: false, first_id: null, last_id: null });
        return body.stream ? sse(undefined, undefined, limits) : json(MESSAGE, { headers: limits });
      },
    });
    await client.messages.create(PARAMS);
    const stream = await client.messages.create({ ...PARAMS, stream: true });
    for await (const _event of stream) {
      // drain
    }
    await client.messages.stream(PARAMS).finalMessage();
    await client.messages.batches.list();
    // Let any completion bookkeeping that runs after the stream's end settle too.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lines).toEqual([]);
  });

  test("responses without rate-limit headers (a proxy stripped them): one warn line, naming what 'auto' mode does then", async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger, fetch: async () => json(MESSAGE) });
    for (let i = 0; i < 6; i++) await client.messages.create(PARAMS);
    const second = new ResilientClaude({ apiKey: 'sk-test', logger, fetch: async () => json(MESSAGE) });
    for (let i = 0; i < 6; i++) await second.messages.create(PARAMS);
    const warnings = atLeastWarn(lines);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]![1])).toMatch(/no anthropic-ratelimit-\* headers.*lifts its start-up concurrency cap/);
  });

  test('successful calls log nothing at warn or above even at logLevel debug', async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger, logLevel: 'debug', fetch: async () => json(MESSAGE) });
    await client.messages.create(PARAMS);
    expect(atLeastWarn(lines)).toEqual([]);
    expect(lines.some(([level]) => level === 'debug')).toBe(true);
  });

  test('a failed call with no retries logs no warn line of ours (the SDK logs none either)', async () => {
    const ours = recordingLogger();
    const plain = recordingLogger();
    const fetch = async () => apiError(400, 'invalid_request_error');
    await rejectionOf(new ResilientClaude({ apiKey: 'sk-test', logger: ours.logger, maxRetries: 0, fetch }).messages.create(PARAMS));
    await rejectionOf(new Anthropic({ apiKey: 'sk-test', logger: plain.logger, maxRetries: 0, fetch }).messages.create(PARAMS));
    expect(atLeastWarn(ours.lines)).toEqual(atLeastWarn(plain.lines));
  });

  test("none of our lines contains 'sending request': the SDK's line appears once per fetch", async () => {
    const { logger, lines } = recordingLogger();
    let fetches = 0;
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      logLevel: 'debug',
      retry: { baseDelayMs: 1 },
      fetch: async () => (++fetches === 1 ? apiError(500) : json(MESSAGE)),
    });
    await client.messages.create(PARAMS);
    const sending = lines.filter((line) => line.some((part) => typeof part === 'string' && part.includes('sending request')));
    expect(fetches).toBe(2);
    expect(sending).toHaveLength(2);
  });

  test("logLevel 'off': nothing at all, even for retries and failures", async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({
      apiKey: 'sk-test',
      logger,
      logLevel: 'off',
      maxRetries: 2,
      retry: { baseDelayMs: 1 },
      fetch: async () => apiError(503),
    });
    await rejectionOf(client.messages.create(PARAMS));
    await rejectionOf(
      (async () => {
        const stream = await client.messages.create({ ...PARAMS, stream: true });
        for await (const _event of stream) {
          // never reached
        }
      })(),
    );
    expect(lines).toEqual([]);
  });
});

describe('the SDK log-level rules are untouched', () => {
  test('default logLevel is warn', () => {
    expect(new ResilientClaude({ apiKey: 'sk-test', logger: false }).logLevel).toBe('warn');
  });

  test('debug lines reach the logger at logLevel debug, and are skipped at info', async () => {
    const debugLogger = recordingLogger();
    await new ResilientClaude({ apiKey: 'sk-test', logger: debugLogger.logger, logLevel: 'debug', fetch: async () => json() }).request({
      path: '/foo',
      method: 'get',
    });
    expect(debugLogger.lines.some(([level]) => level === 'debug')).toBe(true);

    const infoLogger = recordingLogger();
    await new ResilientClaude({ apiKey: 'sk-test', logger: infoLogger.logger, logLevel: 'info', fetch: async () => json() }).request({
      path: '/foo',
      method: 'get',
    });
    expect(infoLogger.lines.some(([level]) => level === 'debug')).toBe(false);
  });

  test('ANTHROPIC_LOG=debug sets the level', async () => {
    process.env['ANTHROPIC_LOG'] = 'debug';
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger, fetch: async () => json() });
    expect(client.logLevel).toBe('debug');
    await client.request({ path: '/foo', method: 'get' });
    expect(lines.some(([level]) => level === 'debug')).toBe(true);
  });

  test('an invalid ANTHROPIC_LOG is warned about with the SDK message', () => {
    process.env['ANTHROPIC_LOG'] = 'not a log level';
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger });
    expect(client.logLevel).toBe('warn');
    expect(lines).toEqual([
      [
        'warn',
        `process.env['ANTHROPIC_LOG'] was set to "not a log level", expected one of ["off","error","warn","info","debug"]`,
      ],
    ]);
  });

  test('an invalid ANTHROPIC_LOG with a valid client level: no warning at all', () => {
    process.env['ANTHROPIC_LOG'] = 'not a log level';
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger, logLevel: 'debug' });
    expect(client.logLevel).toBe('debug');
    expect(atLeastWarn(lines)).toEqual([]);
  });

  test("the client level overrides the environment ('off' beats ANTHROPIC_LOG=debug)", async () => {
    process.env['ANTHROPIC_LOG'] = 'debug';
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logger, logLevel: 'off', fetch: async () => json() });
    await client.request({ path: '/foo', method: 'get' });
    expect(lines).toEqual([]);
  });
});

describe('console output with the default options', () => {
  test('a successful call with a current model writes nothing to console.warn or console.error', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const client = new ResilientClaude({ apiKey: 'sk-test', fetch: async () => json(MESSAGE) });
    await client.messages.create(PARAMS);
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  test("a deprecated model gets the SDK's console.warn, exactly once", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const client = new ResilientClaude({ apiKey: 'sk-test', logger: false, fetch: async () => json(MESSAGE) });
    await client.messages.create({ ...PARAMS, model: 'claude-opus-4-5' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/The model 'claude-opus-4-5' is deprecated/);
  });
});

describe("the SDK's debug lines never carry prompts or completions", () => {
  const PROMPT = 'my secret plan for the quarterly numbers';
  const ANSWER = 'a completion nobody should find in the logs';
  const params = { ...PARAMS, messages: [{ role: 'user' as const, content: PROMPT }] };
  const fetch = async () => json({ ...MESSAGE, content: [{ type: 'text', text: ANSWER }] }, { headers: { 'request-id': 'req_debug' } });

  /** Every line a pino logger at debug wrote for one call at `logLevel: 'debug'`. */
  async function pinoLines(extra: Partial<ResilientClaudeOptions> = {}): Promise<string> {
    let out = '';
    const destination = { write: (line: string) => void (out += line) };
    const client = new ResilientClaude({ apiKey: 'sk-test', logLevel: 'debug', logger: pino({ level: 'debug' }, destination), fetch, ...extra });
    await client.messages.create(params);
    await client.messages.create(params).withResponse();
    return out;
  }

  test('through our pino logger: method, URL, status, request id and timings stay; bodies go', async () => {
    const out = await pinoLines();
    expect(out).toContain('sending request');
    expect(out).toContain('"method":"post"');
    expect(out).toContain('/v1/messages');
    expect(out).toContain('"status":200');
    expect(out).toContain('req_debug');
    expect(out).toContain('durationMs');
    expect(out).not.toContain(PROMPT);
    expect(out).not.toContain(ANSWER);
    expect(out).not.toContain('sk-test');
  });

  test('through an SDK-style logger (console-like) too', async () => {
    const { logger, lines } = recordingLogger();
    const client = new ResilientClaude({ apiKey: 'sk-test', logLevel: 'debug', logger, fetch });
    await client.messages.create(params);
    const text = JSON.stringify(lines);
    expect(lines.some(([level]) => level === 'debug')).toBe(true);
    expect(text).toContain('/v1/messages');
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain(ANSWER);
  });

  test('logBodies: true keeps them (an explicit opt-in)', async () => {
    const out = await pinoLines({ logBodies: true });
    expect(out).toContain(PROMPT);
    expect(out).toContain(ANSWER);
    expect(out).not.toContain('sk-test');
  });
});
