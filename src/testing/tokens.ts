/**
 * The fake server's deterministic token counter.
 *
 * ## The rule
 *
 * A request's input tokens are the sum, over its pieces in prompt order (`tools`, then `system`,
 * then `messages`), of:
 *
 * - **text**: `ceil(utf8Bytes(text) / 4)` for each separate piece of text — `system` (a string, or
 *   each text block), each message's `content` string, each `text` block, a `tool_result`'s content
 *   (a string, or each block inside it, counted by these same rules), a `document` whose source is
 *   `{type:'text'}` (its `data`) or `{type:'content'}` (its string or blocks), a `thinking` block's
 *   `thinking`, and a `redacted_thinking` block's `data`;
 * - **tool definitions**: each entry of `tools` counts as the text
 *   `JSON.stringify({ name, description, input_schema })` (absent keys are omitted);
 * - **tool calls** in the history (`tool_use`, `server_tool_use` blocks): the text `name` followed
 *   by `JSON.stringify(input)`;
 * - **images**: {@link IMAGE_TOKENS} (1500) each, whatever the source;
 * - **binary documents** (PDF `base64`, `url` or `file` sources): {@link BINARY_DOCUMENT_TOKENS}
 *   (1500) each;
 * - **per message**: {@link MESSAGE_OVERHEAD_TOKENS} (3) for every entry of `messages`;
 * - **any other block type**: its JSON (without `cache_control`) counted as text.
 *
 * Rounding is per piece, so the total is exactly the sum of its parts — which is what lets the
 * prompt-cache simulation split a prompt into a cached prefix and an uncached rest without any
 * rounding drift. Nothing else in the body (`model`, `max_tokens`, `tool_choice`, `thinking`, …)
 * counts.
 *
 * @module
 */

/** Tokens counted for every image block (any source). */
export const IMAGE_TOKENS = 1500;

/** Tokens counted for every PDF-like document block (`base64`, `url` or `file` source). */
export const BINARY_DOCUMENT_TOKENS = 1500;

/** Tokens added for every entry of `messages`, on top of its content. */
export const MESSAGE_OVERHEAD_TOKENS = 3;

/** A cache TTL as written in `cache_control.ttl`. */
export type CacheTtl = '5m' | '1h';

/**
 * One countable piece of a prompt, in prompt order. Exposed for the prompt-cache simulation.
 *
 * @internal
 */
export interface PromptPiece {
  /** Tokens this piece contributes. */
  readonly tokens: number;
  /** Set when the piece carries a `cache_control` breakpoint (or receives the top-level one). */
  ttl?: CacheTtl;
  /** The value the cache key is computed from (the piece with `cache_control` removed). */
  readonly keySource: unknown;
}

/**
 * Tokens for one piece of text: `ceil(UTF-8 bytes / 4)`.
 *
 * @param text - The text.
 */
export function textTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cacheTtlOf(value: unknown): CacheTtl | undefined {
  if (!isRecord(value)) return undefined;
  const cc = value['cache_control'];
  if (!isRecord(cc) || cc['type'] !== 'ephemeral') return undefined;
  return cc['ttl'] === '1h' ? '1h' : '5m';
}

function withoutCacheControl(value: unknown): unknown {
  if (isRecord(value) && 'cache_control' in value) {
    const copy: Record<string, unknown> = { ...value };
    delete copy['cache_control'];
    return copy;
  }
  return value;
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return textTokens(content);
  if (Array.isArray(content)) {
    let sum = 0;
    for (const block of content) sum += blockTokens(block);
    return sum;
  }
  return 0;
}

/**
 * Tokens of one content block, per the module's rule.
 *
 * @param block - A content block (`{ type: ..., ... }`); anything else counts 0.
 */
export function blockTokens(block: unknown): number {
  if (typeof block === 'string') return textTokens(block);
  if (!isRecord(block)) return 0;
  switch (block['type']) {
    case 'text':
      return typeof block['text'] === 'string' ? textTokens(block['text']) : 0;
    case 'image':
      return IMAGE_TOKENS;
    case 'document': {
      const source = block['source'];
      if (isRecord(source)) {
        if (source['type'] === 'text') return typeof source['data'] === 'string' ? textTokens(source['data']) : 0;
        if (source['type'] === 'content') return contentTokens(source['content']);
      }
      return BINARY_DOCUMENT_TOKENS;
    }
    case 'tool_result':
      return contentTokens(block['content']);
    case 'tool_use':
    case 'server_tool_use': {
      const name = typeof block['name'] === 'string' ? block['name'] : '';
      return textTokens(name + JSON.stringify(block['input'] ?? {}));
    }
    case 'thinking':
      return typeof block['thinking'] === 'string' ? textTokens(block['thinking']) : 0;
    case 'redacted_thinking':
      return typeof block['data'] === 'string' ? textTokens(block['data']) : 0;
    default:
      return textTokens(JSON.stringify(withoutCacheControl(block)));
  }
}

/**
 * Tokens of one tool definition: the text `JSON.stringify({ name, description, input_schema })`.
 *
 * @param tool - An entry of the request's `tools`.
 */
export function toolTokens(tool: unknown): number {
  if (!isRecord(tool)) return 0;
  return textTokens(
    JSON.stringify({ name: tool['name'], description: tool['description'], input_schema: tool['input_schema'] }),
  );
}

/**
 * Splits a request body into countable pieces in prompt order (tools, system, messages), with the
 * `cache_control` breakpoints each piece carries. A top-level `cache_control` on the body marks the
 * last piece of the prompt (the SDK documents it as "applies a marker to the last cacheable block").
 *
 * Malformed parts are skipped rather than rejected; validation happens elsewhere.
 *
 * @param body - A parsed Messages API request body.
 * @internal
 */
export function promptPieces(body: unknown): PromptPiece[] {
  const pieces: PromptPiece[] = [];
  if (!isRecord(body)) return pieces;

  const tools = body['tools'];
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      pieces.push({ tokens: toolTokens(tool), ttl: cacheTtlOf(tool), keySource: withoutCacheControl(tool) });
    }
  }

  const system = body['system'];
  if (typeof system === 'string') {
    pieces.push({ tokens: textTokens(system), keySource: system });
  } else if (Array.isArray(system)) {
    for (const block of system) {
      pieces.push({ tokens: blockTokens(block), ttl: cacheTtlOf(block), keySource: withoutCacheControl(block) });
    }
  }

  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const message of messages) {
      if (!isRecord(message)) continue;
      pieces.push({ tokens: MESSAGE_OVERHEAD_TOKENS, keySource: { role: message['role'] } });
      const content = message['content'];
      if (typeof content === 'string') {
        pieces.push({ tokens: textTokens(content), keySource: content });
      } else if (Array.isArray(content)) {
        for (const block of content) {
          pieces.push({ tokens: blockTokens(block), ttl: cacheTtlOf(block), keySource: withoutCacheControl(block) });
        }
      }
    }
  }

  const topLevelTtl = cacheTtlOf(body);
  const last = pieces[pieces.length - 1];
  if (topLevelTtl !== undefined && last !== undefined) last.ttl = topLevelTtl;
  return pieces;
}

/**
 * Counts a Messages API request body's input tokens with the fake server's deterministic rule
 * (see the module documentation: `ceil(UTF-8 bytes / 4)` per text piece, 3 per message, 1500 per
 * image or binary document, tool definitions as JSON).
 *
 * Pure and exported so tests can compute the exact `input_tokens` (plus cache counts) the fake
 * server will report — and the exact result of `POST /v1/messages/count_tokens`.
 *
 * @param body - A `messages.create` / `countTokens` params object (or its parsed JSON).
 * @returns The total input tokens, before any prompt-cache split.
 *
 * @example
 * ```ts
 * countInputTokens({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'Hello!' }] });
 * // → 3 (message) + ceil(6 / 4) = 5
 * ```
 */
export function countInputTokens(body: unknown): number {
  let sum = 0;
  for (const piece of promptPieces(body)) sum += piece.tokens;
  return sum;
}
