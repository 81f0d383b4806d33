/** The `healthProbe` option. */
export interface HealthProbeOptions {
  /** Interval between probes. Default 30000 ms. */
  intervalMs?: number;
  /** Model to count tokens with. Default `'claude-haiku-4-5'`. */
  model?: string;
}
