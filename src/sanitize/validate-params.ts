import { InputRejectedError } from '../errors/input-rejected-error';

/**
 * Roles a message may have. `system` is one since SDK 1.14: a `SystemMessageParam` in the middle of a
 * conversation carries tool additions and removals, and the SDK's own tool runner writes them.
 */
const ROLES: ReadonlySet<unknown> = new Set(['user', 'assistant', 'system']);

/** The minimal shape {@link validateCountTokensParams} guarantees. */
export interface ValidatedCountTokensParams {
  model: string;
  messages: { role: 'user' | 'assistant' | 'system'; content: string | { type: string }[] }[];
}

/** The minimal shape {@link validateMessageParams} guarantees. */
export interface ValidatedMessageParams extends ValidatedCountTokensParams {
  max_tokens: number;
}

function invalid(field: string, message: string): InputRejectedError {
  return new InputRejectedError(field, 'invalid', message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value;
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkParamsObject(params: unknown): asserts params is Record<string, unknown> {
  if (!isDict(params)) throw invalid('params', `expected an object, got ${describe(params)}`);
}

function checkModel(model: unknown): void {
  if (typeof model !== 'string' || model.trim() === '') {
    throw invalid('model', `expected a non-empty string, got ${typeof model === 'string' ? 'an empty string' : describe(model)}`);
  }
}

function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages)) throw invalid('messages', `expected an array of messages, got ${describe(messages)}`);
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    const at = `messages[${i}]`;
    if (!isDict(message)) throw invalid(at, `expected a message object, got ${describe(message)}`);
    const role = message['role'];
    if (!ROLES.has(role)) {
      const got = typeof role === 'string' ? JSON.stringify(role.slice(0, 40)) : describe(role);
      throw invalid(`${at}.role`, `expected 'user', 'assistant' or 'system', got ${got}`);
    }
    const content = message['content'];
    if (typeof content === 'string') continue;
    if (!Array.isArray(content)) {
      throw invalid(`${at}.content`, `expected a string or an array of content blocks, got ${describe(content)}`);
    }
    for (let j = 0; j < content.length; j++) {
      const block: unknown = content[j];
      if (!isDict(block)) throw invalid(`${at}.content[${j}]`, `expected a content block object, got ${describe(block)}`);
      if (typeof block['type'] !== 'string' || block['type'] === '') {
        throw invalid(`${at}.content[${j}].type`, `expected a non-empty string, got ${describe(block['type'])}`);
      }
    }
  }
}

/**
 * Checks, before anything is sent, the few fields this library relies on for `messages.create` /
 * `messages.stream` params: `model` is a non-empty string; `max_tokens` a positive integer;
 * `messages` an array of `{ role, content }` where `role` is `'user'`, `'assistant'` or `'system'` (the
 * SDK's `SystemMessageParam`) and `content` is a string or an array
 * of objects with a string `type`. Everything else (unknown fields, block contents, tools,
 * thinking, images, documents…) is left to the server, which knows the current API schema.
 *
 * Hand-written rather than zod: a dozen checks, no copy of the params on the hot path, and exact
 * field paths in the messages without translating schema issues; a schema would also invite
 * re-implementing the API's, which this must not do.
 *
 * @throws InputRejectedError with reason `'invalid'`, `field` the exact path (e.g. `'messages[2].role'`).
 */
export function validateMessageParams(params: unknown): asserts params is ValidatedMessageParams {
  checkParamsObject(params);
  checkModel(params['model']);
  const maxTokens = params['max_tokens'];
  if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens <= 0) {
    const got = typeof maxTokens === 'number' ? String(maxTokens) : describe(maxTokens);
    throw invalid('max_tokens', `expected a positive integer, got ${got}`);
  }
  checkMessages(params['messages']);
}

/**
 * The same checks for `messages.countTokens` params, which have no `max_tokens`.
 *
 * @throws InputRejectedError with reason `'invalid'` naming the exact field path.
 */
export function validateCountTokensParams(params: unknown): asserts params is ValidatedCountTokensParams {
  checkParamsObject(params);
  checkModel(params['model']);
  checkMessages(params['messages']);
}
