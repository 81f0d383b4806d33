import { batchSettings } from '../call-options';
import { callState } from '../call-state';
import type { BatchQueue } from '../batch/batch-queue';
import { ConfigError } from '../errors/config-error';
import type { Middleware } from '../sdk-types';
import { statusForErrorType } from '../stream/error-types';
import { jsonResponse } from './attempt';

const MESSAGES_ONLY = /^\/v1\/messages$/;

/**
 * `beta.messages.create` shares the path and tells itself apart by a query qualifier: its params (and
 * `betas` headers) belong to `beta.messages.batches`, which this layer does not use.
 */
function isBeta(options: unknown, url: string): boolean {
  const qualifiers = (options as { __qualifiers?: Record<string, string> }).__qualifiers;
  return qualifiers?.['beta'] !== undefined || /[?&]beta=true(?:&|$)/.test(url);
}

/**
 * Batch layer: a `messages.create` call made with `callOptions({ batch: true })` goes to the client's
 * {@link BatchQueue} instead of the wire, and its batch result comes back as the response the SDK would
 * have received: the `Message` (200), or the request's API error with its status, so the SDK raises its
 * own typed error. It sits after observe and budget (one record per call, reserved at the batch price)
 * and before deadline, fallback and retry: a batched call is never retried as a direct one.
 */
export function createBatchLayer(queue: () => BatchQueue): Middleware {
  return async function batch(request, next, ctx) {
    const state = callState(ctx);
    const settings = state ? batchSettings(state.call) : undefined;
    if (!state || !settings) return next(request);
    if (state.method !== 'POST' || !MESSAGES_ONLY.test(state.path) || state.stream || isBeta(state.options, request.url)) {
      throw new ConfigError('resilient.batch', 'only on messages.create without streaming (not stream(), countTokens or beta.messages)');
    }
    const params = (typeof state.params === 'object' && state.params !== null ? state.params : {}) as Record<string, unknown>;
    const { stream: _stream, ...sent } = params;
    const result = await queue().enqueue({
      params: sent,
      signal: request.signal ?? undefined,
      within: settings.within,
      ref: settings.ref,
      model: state.model,
      user: state.call.user ?? state.user,
      tags: state.call.tags,
      bytes: typeof request.body === 'string' ? request.body.length : undefined,
    });
    state.notes.batchId = result.batchId;
    // Its one request, sent inside the batch.
    state.tries.sent++;
    if (result.type === 'succeeded') return jsonResponse(200, result.message);
    const type = result.error.error?.type ?? 'api_error';
    // The request's own error, final: a batched call is not retried as a direct one. Its request id (the
    // item's, when the API gave one) and its batch travel as headers, so the SDK's error carries them.
    const requestId = result.error.request_id;
    return jsonResponse(statusForErrorType(type), result.error, {
      'x-should-retry': 'false',
      'x-batch-id': result.batchId,
      'x-batch-custom-id': result.customId,
      ...(typeof requestId === 'string' && requestId ? { 'request-id': requestId } : {}),
    });
  };
}
