import { ResilientClaudeError } from './resilient-claude-error';

/** One pooled key as {@link NoUsableKeyError} reports it: by alias, never by its text. */
export interface UnusableKey {
  readonly alias: string;
  /** Why it is out (e.g. `'authentication_error'`). */
  readonly reason?: string;
  /** The status that put it out (401, 403). */
  readonly status?: number;
  /** Epoch ms when it will be re-checked; `null` when only `client.keys.restore(alias)` brings it back. */
  readonly quarantinedUntil: number | null;
}

/**
 * Every key of the `apiKeys` pool is quarantined (each got a 401 or 403), so the call was refused:
 * nothing more was sent. Fix or replace the keys and call `client.keys.restore(alias)`, or wait
 * `retryAfterMs` for the earliest automatic re-check.
 */
export class NoUsableKeyError extends ResilientClaudeError {
  /** The pooled keys and why each is out. */
  readonly keys: readonly UnusableKey[];
  /**
   * Ms until the earliest quarantine ends and that key is tried again; `undefined` when every key is
   * out until restored.
   */
  readonly retryAfterMs: number | undefined;

  constructor(keys: readonly UnusableKey[], retryAfterMs: number | undefined) {
    const list = keys.map((k) => `${k.alias}${k.status !== undefined ? `: ${k.status}` : ''}`).join(', ');
    const when =
      retryAfterMs === undefined
        ? 'Restore a fixed key with client.keys.restore(alias).'
        : `The earliest re-check is in ${Math.ceil(retryAfterMs)} ms, or restore a fixed key with client.keys.restore(alias).`;
    super(
      'NO_USABLE_KEY',
      `No usable API key: all ${keys.length} pooled keys are quarantined after authentication failures (${list}). ${when}`,
    );
    this.keys = keys;
    this.retryAfterMs = retryAfterMs;
  }
}
