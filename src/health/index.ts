/**
 * The health (and metrics) HTTP handler for `ResilientClaude`: {@link createHealthHandler}. See
 * `health-handler.ts` for routes, status codes and mounting in node:http, express and fastify.
 *
 * Note: `src/health.ts` (the `HealthSnapshot` type) sits beside this folder; import this folder as
 * `./health/index` to avoid resolving to that file.
 *
 * @module
 */
export {
  createHealthHandler,
  DEFAULT_HEALTH_PATH,
  DEFAULT_METRICS_PATH,
  type AnyRegistry,
  type HealthHandler,
  type HealthHandlerOptions,
  type HealthLike,
  type HealthSource,
  type NextFunction,
  type RegistryHolder,
} from './health-handler';
