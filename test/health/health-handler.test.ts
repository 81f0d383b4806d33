import express from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Registry, RegistryContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../src/errors/circuit-open-error';
import { createHealthHandler, type HealthHandler, type HealthSource } from '../../src/health/index';
import { ClientMetrics } from '../../src/metrics/index';
import { faults } from '../../src/testing';
import { params, startServer } from '../helpers/setup';
import { listen, parseExposition, value } from '../metrics/exposition';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A source whose snapshot the test controls; extra fields stand for the lead's later additions. */
function stubSource(metrics?: Registry<RegistryContentType>) {
  const state = {
    ready: true,
    reasons: [] as string[],
    breakers: { default: { state: 'closed', windowAttempts: 0, windowFailures: 0 } },
    rateLimit: { default: { queueDepth: 0 } },
    budget: { remainingUsd: 3.5, limitUsd: 10 },
  };
  let throws = false;
  const source: HealthSource = {
    health: () => {
      if (throws) throw new Error('snapshot exploded: sk-ant-secret');
      return { ...state };
    },
    ...(metrics ? { metrics } : {}),
  };
  return {
    source,
    state,
    setThrows: (v: boolean) => {
      throws = v;
    },
  };
}

function registryWithSample(): Registry<RegistryContentType> {
  const m = new ClientMetrics();
  m.onCallComplete({
    callId: 'c',
    method: 'post',
    path: '/v1/messages',
    stream: false,
    attempts: 1,
    ok: true,
    status: 200,
    latencyMs: 10,
    rateLimitWaitMs: 0,
    model: 'claude-sonnet-4-6',
  });
  return m.registry;
}

type Mount = (handler: HealthHandler) => Promise<string>;

/** node:http: the handler is the whole server. */
const mountHttp: Mount = async (handler) => {
  const http = await listen(handler);
  closers.push(http.close);
  return http.url;
};

/** express 5: `app.use(handler)`, with a route of the app's own after it. */
const mountExpress: Mount = async (handler) => {
  const app = express();
  app.use(handler);
  app.get('/app-route', (_req, res) => {
    res.type('text/plain').send('from the app');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** fastify 5: the documented mounting (hijack + raw objects, `all` routes). */
const mountFastify: Mount = async (handler) => {
  const app = Fastify();
  const raw = (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    handler(req.raw, reply.raw);
  };
  app.all('/health', raw);
  app.all('/health/*', raw);
  app.all('/metrics', raw);
  app.get('/app-route', async (_req, reply) => reply.type('text/plain').send('from the app'));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return url;
};

const mounts: Array<[string, Mount]> = [
  ['node:http', mountHttp],
  ['express', mountExpress],
  ['fastify', mountFastify],
];

describe.each(mounts)('health handler in %s', (framework, mount) => {
  it('GET /health/live → 200 {status:ok}; /health → 200 with the whole snapshot', async () => {
    const { source } = stubSource();
    const url = await mount(createHealthHandler(source));
    const live = await fetch(`${url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(live.headers.get('cache-control')).toBe('no-store');
    expect(await live.json()).toEqual({ status: 'ok' });

    const health = await fetch(`${url}/health?verbose=1`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      ready: true,
      reasons: [],
      breakers: { default: { state: 'closed', windowAttempts: 0, windowFailures: 0 } },
      rateLimit: { default: { queueDepth: 0 } },
      budget: { remainingUsd: 3.5, limitUsd: 10 },
    });
  });

  it('GET /health/ready → 200 when ready, 503 with reasons when not; /health stays 200 with ready:false', async () => {
    const stub = stubSource();
    const url = await mount(createHealthHandler(stub.source));
    let ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, reasons: [] });

    stub.state.ready = false;
    stub.state.reasons = ['every circuit breaker is open'];
    ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reasons: ['every circuit breaker is open'] });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ready: false, reasons: ['every circuit breaker is open'] });
  });

  it('a throwing health() gives 500 on /health and 503 on /ready, without its message', async () => {
    const stub = stubSource();
    stub.setThrows(true);
    const url = await mount(createHealthHandler(stub.source));
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(500);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    const body = await ready.text();
    expect(JSON.parse(body)).toEqual({ ready: false, reasons: ['health check failed'] });
    expect(body + (await health.text())).not.toContain('sk-ant');
    // Liveness does not depend on health().
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('GET /metrics (opt-in) serves the exposition with the registry content type', async () => {
    const registry = registryWithSample();
    const url = await mount(createHealthHandler(stubSource(registry).source, { metrics: true }));
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    const exp = parseExposition(await res.text());
    expect(value(exp, 'anthropic_calls_total', { model: 'claude-sonnet-4-6', outcome: 'success' })).toBe(1);
  });

  it('HEAD answers like GET without a body; other methods get 405 with Allow', async () => {
    const stub = stubSource(registryWithSample());
    stub.state.ready = false;
    const url = await mount(createHealthHandler(stub.source, { metrics: true }));
    for (const [path, status] of [
      ['/health', 200],
      ['/health/live', 200],
      ['/health/ready', 503],
      ['/metrics', 200],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method: 'HEAD' });
      expect(res.status, path).toBe(status);
      expect(Number(res.headers.get('content-length')), path).toBeGreaterThan(0);
      expect(await res.text(), path).toBe('');
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${url}/health/ready`, { method, body: '{}', headers: { 'content-type': 'application/json' } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(await res.json()).toEqual({ error: 'method not allowed' });
    }
  });

  it('unknown paths: next() in frameworks, 404 standalone; /metrics is off unless asked for', async () => {
    const url = await mount(createHealthHandler(stubSource(registryWithSample()).source));
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(404);
    const unknown = await fetch(`${url}/health/nope`);
    expect(unknown.status).toBe(404);
    if (framework === 'node:http') {
      expect(await unknown.json()).toEqual({ error: 'not found' });
    } else {
      // The framework's own route still answers: the handler stepped aside (express: next()).
      const app = await fetch(`${url}/app-route`);
      expect(app.status).toBe(200);
      expect(await app.text()).toBe('from the app');
    }
  });

  it('never reflects request data (headers, path, query) into responses', async () => {
    const url = await mount(createHealthHandler(stubSource().source));
    const secret = 'sk-ant-api03-SECRETSECRET';
    for (const path of ['/health', '/health/ready', '/health/live', `/health/nope?x=${secret}`]) {
      const res = await fetch(`${url}${path}${path.includes('?') ? '' : `?token=${secret}`}`, {
        headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret, cookie: `s=${secret}` },
      });
      const headers = JSON.stringify([...res.headers]);
      expect((await res.text()) + headers, path).not.toContain('SECRETSECRET');
    }
  });
});

describe('health handler with a real client', () => {
  it('an outage opens the breaker: /health/ready turns 503 with the reason, /health shows the open breaker', async () => {
    const env = await startServer();
    closers.push(env.close);
    const client = env.client({ retry: false, circuitBreaker: { minimumAttempts: 3, failureRatio: 0.5, probeAfterMs: 60_000, whenOpen: 'fail' } });
    const metrics = new ClientMetrics();
    client.on('callComplete', (r) => metrics.onCallComplete(r));
    client.on('breakerStateChange', (e) => metrics.onBreakerStateChange(e));
    const url = await mountHttp(createHealthHandler(client, { metrics: true, registry: metrics }));

    await client.messages.create(params);
    let ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);

    const outage = env.server.outage(faults.overloaded());
    let refused = false;
    for (let i = 0; i < 10 && !refused; i++) {
      refused = (await client.messages.create(params).catch((e: unknown) => e)) instanceof CircuitOpenError;
    }
    expect(refused).toBe(true);

    ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reasons: ['every circuit breaker is open'] });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { ready: boolean; breakers: Record<string, { state: string }>; lastError?: { errorClass: string } };
    expect(body).toMatchObject({ ready: false, breakers: { default: { state: 'open' } }, lastError: { errorClass: 'CircuitOpenError' } });
    // The snapshot holds no key, even though the client has one.
    expect(JSON.stringify(body)).not.toContain('test-key');

    const exp = parseExposition(await (await fetch(`${url}/metrics`)).text());
    expect(value(exp, 'anthropic_breaker_state', { scope: 'default' })).toBe(2);
    expect(value(exp, 'anthropic_breaker_transitions_total', { scope: 'default', to: 'open' })).toBe(1);
    outage.end();
  });
});

describe('express mounted under a prefix', () => {
  it("app.use('/ops', handler) serves /ops/health… (express strips the mount path)", async () => {
    const app = express();
    app.use('/ops', createHealthHandler(stubSource().source));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${url}/ops/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/health/live`)).status).toBe(404);
  });
});
