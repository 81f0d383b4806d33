/**
 * Server-sent-event encoding of a Messages API stream, in the real API's wire format:
 *
 * ```
 * event: message_start        (message with empty content; usage with input/cache counts, output_tokens 1)
 * event: content_block_start  (text block with empty text, or tool_use block with input {})
 * event: ping
 * event: content_block_delta  × N (one text_delta per output token; one input_json_delta "{}" for tool use)
 * event: content_block_stop
 * event: message_delta        (stop_reason; usage with whole-message totals)
 * event: message_stop
 * ```
 *
 * Each event is `event: <name>\ndata: <json>\n\n`.
 *
 * @module
 */
import type {
  Message,
  RawMessageStreamEvent,
  MessageDeltaUsage,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { type OutputPlan } from './completion';

/**
 * Encodes one SSE event.
 *
 * @param name - The `event:` name.
 * @param data - JSON-serialisable payload.
 */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A message stream split where faults cut into it. @internal */
export interface StreamParts {
  /** `message_start`, `content_block_start`, `ping`. */
  readonly head: string;
  /** One encoded `content_block_delta` per delta. */
  readonly deltas: readonly string[];
  /** `content_block_stop`, `message_delta`, `message_stop`. */
  readonly tail: string;
}

function encode(event: RawMessageStreamEvent): string {
  return sseEvent(event.type, event);
}

/**
 * Splits a final message into its stream events.
 *
 * @param message - The complete message (as the JSON path would return it).
 * @param plan - The output plan it was built from.
 * @internal
 */
export function streamParts(message: Message, plan: OutputPlan): StreamParts {
  const block = message.content[0];
  const startBlock =
    block === undefined ? { type: 'text' as const, text: '', citations: null }
    : block.type === 'text' ? { ...block, text: '' }
    : block.type === 'tool_use' ? { ...block, input: {} }
    : block;
  const head =
    encode({
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...message.usage, output_tokens: 1 },
      },
    }) +
    encode({ type: 'content_block_start', index: 0, content_block: startBlock }) +
    sseEvent('ping', { type: 'ping' });

  const deltas: string[] =
    plan.toolName !== undefined ?
      [encode({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{}' } })]
    : plan.pieces.map((text) =>
        encode({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
      );

  const u = message.usage;
  const deltaUsage: MessageDeltaUsage = {
    output_tokens: u.output_tokens,
    input_tokens: u.input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    server_tool_use: u.server_tool_use,
    output_tokens_details: u.output_tokens_details,
  };
  const tail =
    encode({ type: 'content_block_stop', index: 0 }) +
    encode({
      type: 'message_delta',
      delta: {
        stop_reason: message.stop_reason,
        stop_sequence: message.stop_sequence,
        stop_details: message.stop_details,
        container: message.container,
      },
      usage: deltaUsage,
    }) +
    encode({ type: 'message_stop' });
  return { head, deltas, tail };
}
