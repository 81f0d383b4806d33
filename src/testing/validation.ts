/**
 * Local request validation, mirroring the real API's `invalid_request_error` answers for the
 * mistakes a client library can make. Each message names the offending field.
 *
 * @module
 */
import { type MessageCreateBody } from './completion';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Roles accepted in `messages` (SDK 1.14.0's `MessageParam` includes `system`). */
const ROLES = new Set(['user', 'assistant', 'system']);

/**
 * Validates a Messages API body.
 *
 * @param body - The parsed JSON body.
 * @param requireMaxTokens - `false` for `count_tokens`, which has no `max_tokens`.
 * @returns An error message naming the field, or `undefined` when valid.
 * @internal
 */
export function validateMessageBody(body: unknown, requireMaxTokens: boolean): string | undefined {
  if (!isRecord(body)) return 'body: Input should be a JSON object';
  if (!('model' in body)) return 'model: Field required';
  if (typeof body['model'] !== 'string' || body['model'] === '') return 'model: Input should be a non-empty string';
  if (requireMaxTokens) {
    if (!('max_tokens' in body)) return 'max_tokens: Field required';
    const max = body['max_tokens'];
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
      return 'max_tokens: Input should be a positive integer';
    }
  }
  if (!('messages' in body)) return 'messages: Field required';
  const messages = body['messages'];
  if (!Array.isArray(messages)) return 'messages: Input should be a valid list';
  if (messages.length === 0) return 'messages: at least one message is required';
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isRecord(m)) return `messages.${i}: Input should be an object`;
    if (typeof m['role'] !== 'string' || !ROLES.has(m['role'])) {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    const content = m['content'];
    if (typeof content === 'string') continue;
    if (!Array.isArray(content)) return `messages.${i}.content: Input should be a valid string or list of content blocks`;
    for (let j = 0; j < content.length; j++) {
      const block: unknown = content[j];
      if (!isRecord(block) || typeof block['type'] !== 'string') {
        return `messages.${i}.content.${j}.type: Field required`;
      }
    }
  }
  if ('stream' in body && typeof body['stream'] !== 'boolean') return 'stream: Input should be a valid boolean';
  const system = body['system'];
  if (system !== undefined && typeof system !== 'string' && !Array.isArray(system)) {
    return 'system: Input should be a valid string or list of text blocks';
  }
  const tools = body['tools'];
  if (tools !== undefined && !Array.isArray(tools)) return 'tools: Input should be a valid list';
  return undefined;
}

/**
 * Narrows a validated body.
 *
 * @param body - A body {@link validateMessageBody} accepted (with `max_tokens` required).
 * @internal
 */
export function asMessageBody(body: unknown): MessageCreateBody {
  return body as MessageCreateBody;
}
