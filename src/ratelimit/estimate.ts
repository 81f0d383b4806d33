/**
 * A conservative, dependency-free estimate of the input tokens of a Messages `create` /
 * `countTokens` body, for the reservation made before sending. The reservation is corrected to the
 * real usage when the call settles, so the estimate only has to be cheap and rarely too LOW (too low
 * means a burst can overshoot ITPM; too high only delays a call until the reconcile).
 *
 * The heuristic:
 * - **Text**: ASCII characters / {@link ASCII_CHARS_PER_TOKEN} (3; English prose averages ~3.5–4 per
 *   token, code ~3), plus ONE token per non-ASCII character (CJK and emoji are about one token or
 *   more each; accented Latin is over-counted, which is the safe side). Dense random strings (hex,
 *   base64 pasted as text) can tokenize worse than 3 per token: the settle charges the difference.
 * - **Structure**: {@link REQUEST_OVERHEAD} per request, {@link MESSAGE_OVERHEAD} per message,
 *   {@link BLOCK_OVERHEAD} per content block.
 * - **Tools**: the JSON of each definition counted as text, plus {@link TOOL_PROMPT_TOKENS} once
 *   (Anthropic adds a tool-use system prompt of roughly 300–350 tokens when tools are present).
 *   `tool_use` input and structured-output schemas are counted as JSON text.
 * - **Images**: {@link IMAGE_TOKENS} each (Anthropic's figure for an image at the largest size it
 *   keeps before downscaling, ~1.15 megapixels: tokens ≈ width × height / 750).
 * - **PDF documents** (base64): pages counted from the `/Type /Page` objects × {@link PDF_PAGE_TOKENS}
 *   (text plus a page image); a PDF whose pages are hidden in compressed object streams is sized
 *   at one page per {@link PDF_BYTES_PER_PAGE_FALLBACK} bytes. Decoding is linear in the PDF's size.
 *   Text documents count as text; URL/file documents (size unknown) count {@link UNKNOWN_DOCUMENT_TOKENS}.
 * - **Cache**: everything counts, including what will be a cache read (reads do not count toward
 *   ITPM for most models, but which prefix hits is only known afterwards).
 * - Unknown block types: their JSON, counted as text. Anything malformed counts as 0, never throws.
 *
 * @module
 */
import { type Demand } from './types';

/** ASCII characters per token assumed for text. */
export const ASCII_CHARS_PER_TOKEN = 3;
/** Tokens added once per request. */
export const REQUEST_OVERHEAD = 4;
/** Tokens added per message (role markers). */
export const MESSAGE_OVERHEAD = 4;
/** Tokens added per content block. */
export const BLOCK_OVERHEAD = 3;
/** Tool-use system prompt, added once when `tools` is non-empty. */
export const TOOL_PROMPT_TOKENS = 350;
/** Tokens per image. */
export const IMAGE_TOKENS = 1600;
/** Tokens per PDF page (text + page image). */
export const PDF_PAGE_TOKENS = 3000;
/** Fallback PDF page size, bytes, when page objects cannot be counted. */
export const PDF_BYTES_PER_PAGE_FALLBACK = 50_000;
/** Tokens for a document whose content is not in the request (URL or file id). */
export const UNKNOWN_DOCUMENT_TOKENS = 10_000;

const MAX_DEPTH = 16;

/** Tokens of a text by the heuristic above. */
export function textTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) ascii++;
    else if (c < 0xdc00 || c > 0xdfff) other++; // a surrogate pair counts once
  }
  return Math.ceil(ascii / ASCII_CHARS_PER_TOKEN) + other;
}

function jsonTokens(value: unknown): number {
  try {
    const json = JSON.stringify(value);
    return typeof json === 'string' ? textTokens(json) : 0;
  } catch {
    return 0; // cyclic or unserializable: nothing the API could receive either
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pdfTokens(base64: string): number {
  const bytes = Buffer.from(base64, 'base64');
  const pages = bytes.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
  const count = pages > 0 ? pages : Math.max(1, Math.ceil(bytes.length / PDF_BYTES_PER_PAGE_FALLBACK));
  return count * PDF_PAGE_TOKENS;
}

function documentTokens(block: Record<string, unknown>, depth: number): number {
  let tokens = 0;
  if (typeof block.title === 'string') tokens += textTokens(block.title);
  if (typeof block.context === 'string') tokens += textTokens(block.context);
  const source = block.source;
  if (!isRecord(source)) return tokens;
  switch (source.type) {
    case 'text':
      return tokens + (typeof source.data === 'string' ? textTokens(source.data) : 0);
    case 'content':
      return tokens + contentTokens(source.content, depth + 1);
    case 'base64':
      if (typeof source.data !== 'string') return tokens;
      return tokens + (source.media_type === 'text/plain' ? textTokens(Buffer.from(source.data, 'base64').toString('utf8')) : pdfTokens(source.data));
    default:
      return tokens + UNKNOWN_DOCUMENT_TOKENS;
  }
}

function blockTokens(block: unknown, depth: number): number {
  if (depth > MAX_DEPTH) return 0;
  if (typeof block === 'string') return textTokens(block);
  if (!isRecord(block)) return 0;
  const type = block.type;
  let tokens = BLOCK_OVERHEAD;
  switch (type) {
    case 'text':
      return tokens + (typeof block.text === 'string' ? textTokens(block.text) : 0);
    case 'image':
      return tokens + IMAGE_TOKENS;
    case 'document':
      return tokens + documentTokens(block, depth);
    case 'tool_use':
    case 'server_tool_use':
      if (typeof block.name === 'string') tokens += textTokens(block.name);
      return tokens + jsonTokens(block.input ?? {});
    case 'thinking':
      return tokens + (typeof block.thinking === 'string' ? textTokens(block.thinking) : 0);
    case 'redacted_thinking':
      return tokens + (typeof block.data === 'string' ? textTokens(block.data) : 0);
    case 'search_result':
      if (typeof block.title === 'string') tokens += textTokens(block.title);
      if (typeof block.source === 'string') tokens += textTokens(block.source);
      return tokens + contentTokens(block.content, depth + 1);
    default:
      // tool_result and the server tools' *_tool_result blocks carry `content`; anything else: JSON.
      if (typeof type === 'string' && type.endsWith('tool_result')) {
        const content = block.content;
        return tokens + (typeof content === 'string' || Array.isArray(content) ? contentTokens(content, depth + 1) : jsonTokens(content ?? ''));
      }
      return tokens + jsonTokens(block);
  }
}

function contentTokens(content: unknown, depth: number): number {
  if (typeof content === 'string') return textTokens(content);
  if (!Array.isArray(content) || depth > MAX_DEPTH) return 0;
  let tokens = 0;
  for (const block of content) tokens += blockTokens(block, depth);
  return tokens;
}

/**
 * Conservative estimate of the input tokens of a Messages `create` or `countTokens` body: `system`,
 * `messages` (string content; text, image, document, tool_use, tool_result, thinking blocks…),
 * `tools`, and a structured-output schema. See the module docs for the heuristic. Never throws.
 *
 * @param params - The request body (the params object, not its JSON string).
 * @returns Estimated input tokens (≥ 0).
 */
export function estimateInputTokens(params: unknown): number {
  if (!isRecord(params)) return 0;
  let tokens = REQUEST_OVERHEAD;
  const system = params.system;
  if (system !== undefined && system !== null) tokens += MESSAGE_OVERHEAD + contentTokens(system, 0);
  const messages = params.messages;
  if (Array.isArray(messages)) {
    for (const message of messages) {
      tokens += MESSAGE_OVERHEAD;
      if (isRecord(message)) tokens += contentTokens(message.content, 0);
    }
  }
  const tools = params.tools;
  if (Array.isArray(tools) && tools.length > 0) {
    tokens += TOOL_PROMPT_TOKENS;
    for (const tool of tools) tokens += BLOCK_OVERHEAD + jsonTokens(tool);
  }
  const outputConfig = params.output_config;
  if (isRecord(outputConfig) && outputConfig.format !== undefined) tokens += jsonTokens(outputConfig.format);
  if (params.output_format !== undefined && params.output_format !== null) tokens += jsonTokens(params.output_format);
  return tokens;
}

/**
 * The demand of one Messages call: 1 request, {@link estimateInputTokens} input tokens, and
 * `max_tokens` output tokens (0 for bodies without it, e.g. `countTokens`).
 *
 * @param params - The request body.
 * @param override - Known values that replace the estimates (e.g. a caller-supplied input estimate).
 */
export function estimateDemand(params: unknown, override?: Partial<Demand>): Demand {
  const maxTokens = isRecord(params) && typeof params.max_tokens === 'number' && params.max_tokens >= 0 ? params.max_tokens : 0;
  return {
    requests: override?.requests ?? 1,
    inputTokens: override?.inputTokens ?? estimateInputTokens(params),
    outputTokens: override?.outputTokens ?? maxTokens,
  };
}
