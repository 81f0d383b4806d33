import { AnthropicError } from '@anthropic-ai/sdk';

/**
 * Base class of every error this library raises itself (as opposed to the SDK's own errors, which
 * surface unchanged). `instanceof ResilientClaudeError` tells a handler "the library refused or
 * stopped this call locally".
 *
 * Messages and names deliberately avoid the words "timeout"/"timed out": the SDK treats any error
 * whose text matches `/timed? ?out/i` as a retryable transport timeout and would replace it with
 * `APIConnectionTimeoutError`. Our errors also never carry a retryable `cause` for the same reason;
 * the underlying failure, when there is one, is on `lastError`.
 *
 * It extends the SDK's `AnthropicError`: handlers written for the SDK still catch it, and the SDK's
 * `MessageStream` passes it through as is (it wraps any other error in a plain `AnthropicError`).
 */
export class ResilientClaudeError extends AnthropicError {
  /** Stable machine-readable code, e.g. `'CIRCUIT_OPEN'`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}
