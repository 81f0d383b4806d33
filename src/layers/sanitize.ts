import { callState, type CallState } from '../call-state';
import { InputRejectedError } from '../errors/input-rejected-error';
import type { EventHub } from '../events';
import type { LogSink } from '../logging';
import {
  enforceSuspiciousPolicy,
  sanitizeParams,
  validateCountTokensParams,
  validateMessageParams,
  type SanitizeParamsOptions,
  type SuspiciousFinding,
} from '../sanitize';
import type { Middleware } from '../sdk-types';
import type { SanitizeOptions } from '../options/sanitize-options';


/** Default size limit: far above any context window; catches runaway input, not long prompts. */
export const DEFAULT_MAX_INPUT_CHARS = 10_000_000;

/** The Messages API's request size limit (32 MB). */
export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/** Whether a JSON body of `text` is larger than `limit` bytes (UTF-8), measured only when it might be. */
function exceedsBytes(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > limit ? bytes : undefined;
}

type Endpoint = 'messages' | 'countTokens' | 'batches';

function endpointOf(state: CallState): Endpoint | undefined {
  if (state.method !== 'POST') return undefined;
  const path = state.path.split('?')[0];
  if (path === '/v1/messages') return 'messages';
  if (path === '/v1/messages/count_tokens') return 'countTokens';
  if (path === '/v1/messages/batches') return 'batches';
  return undefined;
}

/** Re-raises a validation or size error of one batch request with the request's path in front. */
function prefixed(error: unknown, prefix: string): unknown {
  if (!(error instanceof InputRejectedError)) return error;
  const detail = error.message.replace(/^Request rejected locally \([^)]*\): /, '');
  return new InputRejectedError(`${prefix}.${error.field}`, error.reason, detail);
}

/** Dependencies of the sanitize layer. */
export interface SanitizeLayerDeps {
  readonly events: EventHub;
  readonly log: LogSink;
}

/**
 * Sanitize layer, outermost: validates and sanitizes Messages, count_tokens and batch requests once per
 * call (not per attempt). Strips NUL bytes and nothing else — valid content passes byte for byte,
 * because the body is only re-serialised when something was actually removed. Flags injection phrases
 * per `onSuspicious`. Refuses oversize input with `InputRejectedError` instead of truncating it.
 */
export function createSanitizeLayer(options: SanitizeOptions, deps: SanitizeLayerDeps): Middleware {
  const policy = options.onSuspicious ?? 'warn';
  const engine: SanitizeParamsOptions = {
    patterns: policy === 'ignore' ? [] : (options.patterns ?? undefined),
    scanAssistant: options.scanAssistant ?? false,
    maxInputChars: options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS,
    ...(options.maxInputTokens !== undefined ? { maxInputTokens: options.maxInputTokens } : {}),
  };
  if (engine.patterns === undefined) delete engine.patterns;
  const validate = options.validate ?? true;
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;

  function checkRequestSize(body: unknown): void {
    if (typeof body !== 'string') return;
    const bytes = exceedsBytes(body, maxRequestBytes);
    if (bytes === undefined) return;
    throw new InputRejectedError(
      'params',
      'too_large',
      `the request body is ${bytes} bytes, over maxRequestBytes ${maxRequestBytes} (the API's request size limit); it was not sent`,
    );
  }

  function report(state: CallState, findings: readonly SuspiciousFinding[]): void {
    if (findings.length === 0) return;
    const action = policy === 'reject' ? 'reject' : 'warn';
    const payload = { callId: state.id, findings: findings.map((f) => ({ pattern: f.pattern, location: f.location })), action } as const;
    deps.log.log('warn', { ...payload }, 'suspected prompt injection in request');
    deps.events.emit('suspiciousInput', payload);
    enforceSuspiciousPolicy(findings, policy);
  }

  function checkOne(params: unknown, endpoint: Endpoint): { params: unknown; changed: boolean; findings: SuspiciousFinding[] } {
    if (validate) {
      if (endpoint === 'countTokens') validateCountTokensParams(params);
      else validateMessageParams(params);
    }
    const result = sanitizeParams(params, engine);
    return { params: result.params, changed: result.changed, findings: result.findings };
  }

  return async function sanitize(request, next, ctx) {
    const state = callState(ctx);
    // The batch queue's own requests carry calls that were sanitized one by one already.
    if (!state || state.internal) return next(request);
    const endpoint = endpointOf(state);
    // Raw `client.request()` calls with a non-object body are the caller's business, not a Messages call.
    const isObject = typeof state.params === 'object' && state.params !== null && !Array.isArray(state.params);
    if (!endpoint || !isObject) return next(request);
    if (state.sanitizedBody !== undefined) {
      // The SDK ran the chain again (token refresh): same call, same body, no second report.
      return state.sanitizedBody === null ? next(request) : next({ ...request, body: state.sanitizedBody });
    }

    let params = state.params;
    let changed = false;
    if (endpoint === 'batches') {
      const batch = params as { requests?: unknown };
      if (Array.isArray(batch.requests)) {
        const findings: SuspiciousFinding[] = [];
        const requests = batch.requests.map((entry: unknown, i: number) => {
          const inner = (entry as { params?: unknown } | null)?.params;
          let result;
          try {
            result = checkOne(inner, 'batches');
          } catch (error) {
            throw prefixed(error, `requests[${i}].params`);
          }
          findings.push(...result.findings.map((f) => ({ ...f, location: `requests[${i}].params.${f.location}` })));
          if (!result.changed) return entry;
          changed = true;
          return { ...(entry as object), params: result.params };
        });
        report(state, findings);
        if (changed) params = { ...(batch as object), requests };
      }
    } else {
      const result = checkOne(params, endpoint);
      report(state, result.findings);
      changed = result.changed;
      params = result.params;
    }

    if (!changed) {
      if (endpoint !== 'batches') checkRequestSize(request.body);
      state.sanitizedBody = null;
      return next(request);
    }
    state.params = params;
    state.sanitizedBody = JSON.stringify(params);
    if (endpoint !== 'batches') checkRequestSize(state.sanitizedBody);
    return next({ ...request, body: state.sanitizedBody });
  };
}
