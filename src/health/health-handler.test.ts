import { Registry, type OpenMetricsContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../test/metrics/exposition';
import { ConfigError } from '../errors/config-error';
import { ClientMetrics } from '../metrics/client-metrics';
import { createHealthHandler, type HealthSource } from './health-handler';

const source: HealthSource = { health: () => ({ ready: true, reasons: [] }) };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(handler: ReturnType<typeof createHealthHandler>): Promise<string> {
  const http = await listen(handler);
  closers.push(http.close);
  return http.url;
}

describe('createHealthHandler options', () => {
  it('rejects relative paths, a metrics path that collides, and metrics without a registry', () => {
    expect(() => createHealthHandler(source, { basePath: 'health' })).toThrow(ConfigError);
    expect(() => createHealthHandler(source, { basePath: '/a b' })).toThrow(ConfigError);
    expect(() => createHealthHandler(source, { metrics: true })).toThrow(ConfigError);
    expect(() =>
      createHealthHandler(source, { metrics: true, registry: new Registry(), metricsPath: '/health/live' }),
    ).toThrow(ConfigError);
  });

  it('accepts a Registry or an object holding one (ClientMetrics), from options or the source', async () => {
    const metrics = new ClientMetrics();
    const fromOptions = await serve(createHealthHandler(source, { metrics: true, registry: metrics }));
    const fromSource = await serve(createHealthHandler({ ...source, metrics: metrics.registry }, { metrics: true }));
    for (const url of [fromOptions, fromSource]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain('# TYPE anthropic_calls_total counter');
    }
  });

  it('custom base and metrics paths; trailing slashes and query strings are ignored', async () => {
    const url = await serve(
      createHealthHandler(source, { basePath: '/ops/status/', metrics: true, metricsPath: '/ops/prom', registry: new Registry() }),
    );
    expect((await fetch(`${url}/ops/status`)).status).toBe(200);
    expect((await fetch(`${url}/ops/status/live/?x=1`)).status).toBe(200);
    expect((await fetch(`${url}/ops/status/ready`)).status).toBe(200);
    expect((await fetch(`${url}/ops/prom`)).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
  });

  it('basePath "/" puts the probes at /live and /ready', async () => {
    const url = await serve(createHealthHandler(source, { basePath: '/' }));
    expect(await (await fetch(`${url}/live`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    expect((await fetch(`${url}/`)).status).toBe(200);
  });

  it('serves an OpenMetrics registry with its own content type', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new ClientMetrics({ registry });
    const url = await serve(createHealthHandler({ ...source, metrics: registry }, { metrics: true }));
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await res.text()).toMatch(/# EOF\n$/);
  });

  it('a registry whose collection fails gives 500, not a hung request', async () => {
    const registry = new Registry();
    const broken = { metrics: () => Promise.reject(new Error('nope')), contentType: registry.contentType } as unknown as Registry;
    const url = await serve(createHealthHandler(source, { metrics: true, registry: broken }));
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('metrics collection failed\n');
  });
});
