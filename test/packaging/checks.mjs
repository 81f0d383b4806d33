// The packaging checks, shared by app.cjs (require) and app.mjs (import). They run inside the scratch
// app that scripts/check-packaging.sh creates; every class comes from the caller, loaded the app's way.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const MESSAGE = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 1 },
};

/** What the stub server answers, chosen by the request's user message. */
const ANSWERS = {
  400: [400, {}, { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } }],
  429: [429, { 'x-should-retry': 'false' }, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }],
  200: [200, { 'request-id': 'req_packaging_1' }, MESSAGE],
};

/** A node:http stand-in for POST /v1/messages, deliberately not our fake server. */
async function startStub() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const answer = req.method === 'POST' && req.url.split('?')[0] === '/v1/messages'
        ? ANSWERS[JSON.parse(body).messages[0].content]
        : undefined;
      const [status, headers, payload] = answer ?? [404, {}, { type: 'error', error: { type: 'not_found_error', message: req.url } }];
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => (server.closeAllConnections(), server.close()) };
}

/** Every installed copy of @anthropic-ai/sdk under a node_modules folder, nested ones included. */
function sdkCopies(nodeModules, found = []) {
  if (!fs.existsSync(nodeModules)) return found;
  for (const name of fs.readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const dirs = name.startsWith('@') ? fs.readdirSync(path.join(nodeModules, name)).map((n) => path.join(name, n)) : [name];
    for (const dir of dirs) {
      if (dir === path.join('@anthropic-ai', 'sdk')) found.push(path.join(nodeModules, dir));
      sdkCopies(path.join(nodeModules, dir, 'node_modules'), found);
    }
  }
  return found;
}

const ask = (content) => ({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content }] });
const rejection = (promise) => promise.then(() => { throw new Error('resolved, expected a rejection'); }, (error) => error);
const nameOf = (value) => value?.constructor?.name ?? typeof value;
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

export async function runChecks({ label, version, Anthropic, ResilientClaude, FakeAnthropicServer }) {
  let failed = 0;
  const check = async (title, fn) => {
    try {
      const detail = await fn();
      console.log(`ok   [${label}] ${title}${detail ? `: ${detail}` : ''}`);
    } catch (error) {
      failed++;
      console.log(`FAIL [${label}] ${title}: ${error?.message ?? error}`);
    }
  };
  const watchdog = setTimeout(() => {
    console.log(`FAIL [${label}] timed out after 30 s`);
    process.exit(1);
  }, 30_000).unref();

  await check(`one @anthropic-ai/sdk in the app tree, version ${version}`, () => {
    const copies = sdkCopies(path.resolve('node_modules'));
    expect(copies.length === 1, `${copies.length} copies: ${copies.join(', ') || 'none'}`);
    const installed = JSON.parse(fs.readFileSync(path.join(copies[0], 'package.json'), 'utf8')).version;
    expect(installed === version, `installed ${installed}, wanted ${version}`);
    // The library resolves the very same copy the app does.
    const fromApp = createRequire(path.resolve('package.json'));
    const fromLibrary = createRequire(fromApp.resolve('resilient-claude/package.json'));
    const [a, b] = [fromLibrary, fromApp].map((r) => fs.realpathSync(r.resolve('@anthropic-ai/sdk')));
    expect(a === b, `resilient-claude resolves ${a}, the app ${b}`);
    return installed;
  });

  const stub = await startStub();
  const client = (options) => new ResilientClaude({ apiKey: 'test', baseURL: stub.url, logger: false, ...options });
  const clients = [];
  const track = (c) => (clients.push(c), c);

  await check('errors from the built package keep their class names (a misspelled option: ConfigError)', () => {
    let error;
    try {
      track(client({ ratelimit: {} }));
    } catch (thrown) {
      error = thrown;
    }
    expect(error?.name === 'ConfigError' && nameOf(error) === 'ConfigError', `got name ${error?.name}, class ${nameOf(error)}`);
    expect(error instanceof Anthropic.AnthropicError, `${nameOf(error)} is not the app's AnthropicError`);
    return error.message.slice(0, 60);
  });

  await check('new ResilientClaude() instanceof the app\'s Anthropic', () => {
    const c = track(client());
    expect(c instanceof Anthropic, `got a ${nameOf(c)} that does not extend the app's Anthropic (a second SDK copy?)`);
  });

  await check('400 rejects with the app\'s BadRequestError and APIError', async () => {
    const error = await rejection(track(client({ maxRetries: 0 })).messages.create(ask('400')));
    expect(error instanceof Anthropic.BadRequestError, `got ${nameOf(error)} (not the app's class, or the wrong one): ${error?.message}`);
    expect(error instanceof Anthropic.APIError, `${nameOf(error)} is not the app's APIError`);
    return `${nameOf(error)} ${error.status}`;
  });

  await check('429 without ratelimit headers (x-should-retry: false) rejects with the app\'s RateLimitError', async () => {
    const error = await rejection(track(client({ maxRetries: 0 })).messages.create(ask('429')));
    expect(error instanceof Anthropic.RateLimitError, `got ${nameOf(error)} (not the app's class, or the wrong one): ${error?.message}`);
    return `${nameOf(error)} ${error.status}`;
  });

  await check('200 resolves; .withResponse() gives request_id', async () => {
    const c = track(client());
    const message = await c.messages.create(ask('200'));
    expect(message.id === 'msg_1' && message.content[0].text === 'hi', `got ${JSON.stringify(message)}`);
    const { data, request_id } = await c.messages.create(ask('200')).withResponse();
    expect(data.id === 'msg_1', `withResponse data ${JSON.stringify(data)}`);
    expect(request_id === 'req_packaging_1', `request_id ${request_id}`);
    return request_id;
  });

  await check('resilient-claude/testing: FakeAnthropicServer serves one messages.create', async () => {
    const server = await FakeAnthropicServer.start();
    try {
      const c = track(new ResilientClaude({ apiKey: 'test', baseURL: server.url, logger: false }));
      const message = await c.messages.create(ask('hello'));
      expect(message.type === 'message' && server.ledger.length === 1, `got ${message.type}, ${server.ledger.length} requests`);
      return message.id;
    } finally {
      await server.close();
    }
  });

  await Promise.all(clients.map((c) => c.close()));
  stub.close();
  clearTimeout(watchdog);
  if (failed) {
    console.log(`FAIL [${label}] ${failed} packaging check(s) failed with @anthropic-ai/sdk@${version}`);
    process.exit(1);
  }
}
