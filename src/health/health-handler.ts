/**
 * A `node:http` request handler serving a client's health and (opt-in) its Prometheus metrics.
 *
 * Routes (defaults; `basePath` and `metricsPath` are configurable):
 *
 * | Route | Answer |
 * |-------|--------|
 * | `GET /health` | 200, the whole `health()` snapshot as JSON — always 200, readiness is the `ready` field inside (this route is for people and dashboards; probes use the two below) |
 * | `GET /health/live` | 200 `{"status":"ok"}` while the process runs; never calls `health()` |
 * | `GET /health/ready` | 200 `{"ready":true,"reasons":[]}` when `ready`, else 503 `{"ready":false,"reasons":[…]}`; 503 with reason `health check failed` if `health()` throws |
 * | `GET /metrics` | only with `metrics: true`: the registry's text exposition, `Content-Type` = `registry.contentType` |
 *
 * `HEAD` is answered like `GET` without a body. Other methods on these paths get 405 with
 * `Allow: GET, HEAD`. Any other path calls `next()` when given (express/connect style), else 404. The
 * query string and trailing slashes are ignored. Paths are matched against `req.url`, so under
 * `app.use('/ops', handler)` express strips `/ops` first and the routes are `/ops/health…`.
 *
 * Responses carry `Cache-Control: no-store` and nothing taken from the request (no headers, no path
 * echo). The snapshot is serialized as is: the client builds it without secrets, and unknown fields
 * are passed through as opaque JSON.
 *
 * Mounting:
 * ```ts
 * // node:http
 * http.createServer(createHealthHandler(client, { metrics: true })).listen(9464);
 *
 * // express 5: the handler is a middleware; unknown paths fall through to next()
 * app.use(createHealthHandler(client, { metrics: true }));
 *
 * // fastify 5: hijack the reply (fastify then sends nothing itself) and hand over the raw objects.
 * // `all` routes every method here, so the handler's 405 applies; with `fastify.get` instead, fastify
 * // answers other methods with its own 404. Avoid `'/health*'`: it also matches `/healthz`.
 * const health = createHealthHandler(client, { metrics: true });
 * const raw = (req: FastifyRequest, reply: FastifyReply) => { reply.hijack(); health(req.raw, reply.raw); };
 * fastify.all('/health', raw);
 * fastify.all('/health/*', raw); // `/health/live`, `/health/ready`; other sub-paths get the handler's 404
 * fastify.all('/metrics', raw);
 * ```
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry as PromRegistry, RegistryContentType } from 'prom-client';

/** A prom-client registry of either exposition format (Prometheus text or OpenMetrics). */
export type AnyRegistry = PromRegistry<RegistryContentType>;
import { ConfigError } from '../errors/config-error';

/** The part of a health snapshot the handler reads; every other field is serialized as is. */
export interface HealthLike {
  /** False when the client cannot serve calls now. */
  readonly ready: boolean;
  /** Why it is not ready (empty when ready). */
  readonly reasons: readonly string[];
}

/** Something holding a prom-client registry (e.g. a `ClientMetrics`). */
export interface RegistryHolder {
  readonly registry: AnyRegistry;
}

/**
 * What the handler serves: a `ResilientClaude` fits (`health()` returns a `HealthSnapshot`, and
 * `metrics`, when present, is its registry).
 */
export interface HealthSource {
  /** The current snapshot. Called once per `/health` or `/health/ready` request. */
  health(): HealthLike;
  /** Registry for `/metrics` (a prom-client `Registry`, or an object with a `registry`), when metrics are on. */
  readonly metrics?: AnyRegistry | RegistryHolder | undefined;
}

/** Options of {@link createHealthHandler}. All optional. */
export interface HealthHandlerOptions {
  /** Path of the snapshot; `/live` and `/ready` hang below it. Default `'/health'`. */
  readonly basePath?: string;
  /** Serve the Prometheus exposition. Default `false`. */
  readonly metrics?: boolean;
  /** Path of the exposition. Default `'/metrics'`. */
  readonly metricsPath?: string;
  /**
   * Registry to expose. Default: `source.metrics`. With `metrics: true` and neither, creating the
   * handler throws `ConfigError`.
   */
  readonly registry?: AnyRegistry | RegistryHolder;
}

/** Express/connect-style continuation: called for paths the handler does not serve. */
export type NextFunction = (err?: unknown) => void;

/** A `node:http` request listener that also works as express/connect middleware. */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

/** Default {@link HealthHandlerOptions.basePath}. */
export const DEFAULT_HEALTH_PATH = '/health';
/** Default {@link HealthHandlerOptions.metricsPath}. */
export const DEFAULT_METRICS_PATH = '/metrics';

type Route = 'health' | 'live' | 'ready' | 'metrics';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Strips the query string and trailing slashes (keeping `/`). */
function pathOf(url: string | undefined): string {
  let path = url ?? '/';
  const q = path.search(/[?#]/);
  if (q >= 0) path = path.slice(0, q);
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path === '' ? '/' : path;
}

function checkPath(option: string, value: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value)) {
    throw new ConfigError(option, "an absolute path such as '/health'", `got ${String(value)}`);
  }
  return pathOf(value);
}

function join(base: string, leaf: string): string {
  return base === '/' ? `/${leaf}` : `${base}/${leaf}`;
}

function isRegistry(value: AnyRegistry | RegistryHolder): value is AnyRegistry {
  return typeof (value as AnyRegistry).metrics === 'function';
}

function registryOf(value: AnyRegistry | RegistryHolder | undefined): AnyRegistry | undefined {
  if (value === undefined || value === null) return undefined;
  return isRegistry(value) ? value : value.registry;
}

function send(res: ServerResponse, head: boolean, status: number, type: string, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (extra) for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
  if (head) res.end();
  else res.end(body);
}

function sendJson(res: ServerResponse, head: boolean, status: number, value: unknown, extra?: Record<string, string>): void {
  send(res, head, status, JSON_TYPE, JSON.stringify(value), extra);
}

/**
 * Creates the health (and optional metrics) handler; see the module description for routes, status
 * codes and how to mount it in node:http, express and fastify.
 *
 * @param source - Usually the `ResilientClaude` client.
 * @param options - Paths and whether to serve `/metrics`.
 * @throws ConfigError for a path that is not absolute, two routes on one path, or `metrics: true`
 *   without a registry.
 */
export function createHealthHandler(source: HealthSource, options: HealthHandlerOptions = {}): HealthHandler {
  const base = checkPath('health.basePath', options.basePath ?? DEFAULT_HEALTH_PATH);
  const routes = new Map<string, Route>([
    [base, 'health'],
    [join(base, 'live'), 'live'],
    [join(base, 'ready'), 'ready'],
  ]);
  let registry: AnyRegistry | undefined;
  if (options.metrics === true) {
    registry = registryOf(options.registry) ?? registryOf(source.metrics);
    if (!registry) throw new ConfigError('health.registry', 'a prom-client Registry (options.registry or source.metrics) when metrics is true');
    const metricsPath = checkPath('health.metricsPath', options.metricsPath ?? DEFAULT_METRICS_PATH);
    if (routes.has(metricsPath)) throw new ConfigError('health.metricsPath', 'a path not used by the health routes', `got ${metricsPath}`);
    routes.set(metricsPath, 'metrics');
  }

  return function healthHandler(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    const route = routes.get(pathOf(req.url));
    if (route === undefined) {
      if (next) next();
      else sendJson(res, req.method === 'HEAD', 404, { error: 'not found' });
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(res, false, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
      return;
    }
    const head = method === 'HEAD';
    switch (route) {
      case 'live':
        sendJson(res, head, 200, { status: 'ok' });
        return;
      case 'health': {
        let body: string;
        try {
          body = JSON.stringify(source.health());
        } catch {
          sendJson(res, head, 500, { error: 'health snapshot failed' });
          return;
        }
        send(res, head, 200, JSON_TYPE, body);
        return;
      }
      case 'ready': {
        let snapshot: HealthLike;
        try {
          snapshot = source.health();
        } catch {
          sendJson(res, head, 503, { ready: false, reasons: ['health check failed'] });
          return;
        }
        const ready = snapshot.ready === true;
        const reasons = Array.isArray(snapshot.reasons) ? snapshot.reasons.filter((r) => typeof r === 'string') : [];
        sendJson(res, head, ready ? 200 : 503, { ready, reasons });
        return;
      }
      case 'metrics': {
        const reg = registry as AnyRegistry;
        reg.metrics().then(
          (text) => send(res, head, 200, reg.contentType, text),
          () => send(res, head, 500, TEXT_TYPE, 'metrics collection failed\n'),
        );
        return;
      }
    }
  };
}
