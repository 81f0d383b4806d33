/**
 * Health: the `client.health()` snapshot types, and the health (and metrics) HTTP handler for `ResilientClaude`: {@link createHealthHandler}. See
 * `health-handler.ts` for routes, status codes and mounting in node:http, express and fastify.
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
export type { HealthSnapshot, ProbeState } from './snapshot';
