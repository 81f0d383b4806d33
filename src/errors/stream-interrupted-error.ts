import { APIConnectionError, APIError } from '@anthropic-ai/sdk';

/** How a stream died after its content started: see {@link StreamInterruptedError.kind}. */
export type StreamInterruption = 'cut' | 'incomplete' | 'idle' | 'error_event';

const MESSAGES: Record<StreamInterruption, (deltas: number) => string> = {
  cut: (n) => `Stream interrupted after ${n} content delta(s): the connection was lost before message_stop.`,
  incomplete: (n) => `Stream ended after ${n} content delta(s) without message_stop: the message is incomplete.`,
  idle: (n) => `Stream went silent after ${n} content delta(s): no byte arrived within streamIdleTimeoutMs.`,
  error_event: (n) => `Stream interrupted after ${n} content delta(s) by an error event from the server (see cause).`,
};

/**
 * A streaming response died after content had started to arrive: the socket was cut, the stream ended
 * without `message_stop`, it went silent longer than `streamIdleTimeoutMs`, or the server sent an SSE
 * `error` event (its error, an SDK `APIError`, is the `cause`). The content already delivered is all
 * there is — the call is NOT a success.
 *
 * It extends the SDK's `APIConnectionError` (a lost connection is what it is), so existing
 * `instanceof APIConnectionError` handlers keep working. It is the one error of this library that is
 * not a `ResilientClaudeError`, for that reason. Streams that fail *before* their first content delta
 * never surface it: they are retried like any failed attempt.
 */
export class StreamInterruptedError extends APIConnectionError {
  /** Content deltas received before the stream died. */
  readonly deltasReceived: number;
  /**
   * `'cut'`: the transport failed mid-stream; `'incomplete'`: the stream ended without `message_stop`;
   * `'idle'`: nothing arrived (not even a ping) for `streamIdleTimeoutMs`; `'error_event'`: the server
   * ended it with an SSE `error` event.
   */
  readonly kind: StreamInterruption;

  constructor(kind: StreamInterruption, deltasReceived: number, cause?: Error) {
    super({ message: MESSAGES[kind](deltasReceived), ...(cause ? { cause } : {}) });
    Object.defineProperty(this, 'name', { value: 'StreamInterruptedError', writable: true, configurable: true });
    // The server's own error (an `error` event): its facts stay readable here, as on the SDK's error —
    // `type` ('overloaded_error', …), `error` (the payload), `requestID`, `headers`.
    if (cause instanceof APIError) {
      const { headers, error, requestID, workspaceID, apiMessage, type, errorCode, details } = cause;
      Object.assign(this, { headers, error, requestID, workspaceID, apiMessage, type, errorCode, details });
      // SDK 1.17+: the request's method and URL, a getter over a private field of the cause.
      const request: unknown = (cause as { request?: unknown }).request;
      if (request !== undefined) Object.defineProperty(this, 'request', { value: request, enumerable: false, configurable: true });
    }
    this.kind = kind;
    this.deltasReceived = deltasReceived;
  }
}
