import { APIConnectionError } from '@anthropic-ai/sdk';

/**
 * A streaming response died after content had started to arrive: the socket was cut, or the stream ended
 * without `message_stop`. The content already delivered is all there is — the call is NOT a success.
 *
 * It extends the SDK's `APIConnectionError` (a lost connection is what it is), so existing
 * `instanceof APIConnectionError` handlers keep working. It is the one error of this library that is
 * not a `ResilientClaudeError`, for that reason. Streams that fail *before* their first content delta
 * never surface it: they are retried like any failed attempt.
 */
export class StreamInterruptedError extends APIConnectionError {
  /** Content deltas received before the stream died. */
  readonly deltasReceived: number;
  /** `'cut'`: the transport failed mid-stream; `'incomplete'`: the stream ended without `message_stop`. */
  readonly kind: 'cut' | 'incomplete';

  constructor(kind: 'cut' | 'incomplete', deltasReceived: number, cause?: Error) {
    super({
      message:
        kind === 'cut'
          ? `Stream interrupted after ${deltasReceived} content delta(s): the connection was lost before message_stop.`
          : `Stream ended after ${deltasReceived} content delta(s) without message_stop: the message is incomplete.`,
      ...(cause ? { cause } : {}),
    });
    Object.defineProperty(this, 'name', { value: 'StreamInterruptedError', writable: true, configurable: true });
    this.kind = kind;
    this.deltasReceived = deltasReceived;
  }
}
