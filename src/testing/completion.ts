/**
 * Deterministic "model output" for the fake server, and the `Message` / `Usage` objects built from it.
 *
 * - **Length**: the `outputTokens` option if given, else {@link defaultOutputTokens} (a hash of
 *   the request → an integer in [5, 40]); at least 1 and capped at `max_tokens`, in which case
 *   `stop_reason` is `'max_tokens'`.
 * - **Text**: that many words from a fixed list, picked by a seeded hash of the request; each word
 *   plus its trailing space is one token and one SSE `text_delta`.
 * - **Tool use**: when `tools` is non-empty and `tool_choice` is `{type:'any'}` (first tool) or
 *   `{type:'tool', name}`, the answer is one `tool_use` block with `input: {}` and
 *   `stop_reason: 'tool_use'` (still `'max_tokens'` if capped).
 *
 * The request's `stream` flag is ignored when hashing, so the JSON and SSE answers to the same
 * request are identical.
 *
 * @module
 */
import type { Message, Usage, ContentBlock } from '@anthropic-ai/sdk/resources/messages/messages';
import { deriveSeed, hash32, SeededRandom } from './ids';

const WORDS: readonly string[] = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel',
  'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa',
  'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray',
  'yankee', 'zulu', 'amber', 'basalt', 'cedar', 'dune', 'ember', 'fjord',
  'granite', 'harbor', 'island', 'jade', 'kelp', 'lagoon', 'meadow', 'nectar',
  'orchid', 'pebble', 'quartz', 'river', 'summit', 'tundra', 'umber', 'valley',
  'willow', 'xenon', 'yarrow', 'zephyr', 'acorn', 'birch', 'canyon', 'drift',
  'estuary', 'fern', 'glacier', 'heron', 'ivy', 'juniper', 'kestrel', 'lichen',
];

/** The parsed body of a Messages API request, as the fake server sees it after validation. */
export interface MessageCreateBody {
  /** Requested model id. */
  readonly model: string;
  /** `max_tokens` (a positive integer). */
  readonly max_tokens: number;
  /** The conversation. */
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>;
  /** `system` prompt, if any. */
  readonly system?: unknown;
  /** Tool definitions, if any. */
  readonly tools?: unknown;
  /** Tool choice, if any. */
  readonly tool_choice?: unknown;
  /** `stream: true` for SSE. */
  readonly stream?: boolean;
  /** Everything else the client sent. */
  readonly [key: string]: unknown;
}

/** What the fake model will answer. @internal */
export interface OutputPlan {
  /** Output tokens (= text deltas for text answers). */
  readonly tokens: number;
  /** Final `stop_reason`. */
  readonly stopReason: 'end_turn' | 'max_tokens' | 'tool_use';
  /** Text pieces, one per token, each a word with its trailing space (empty for tool use). */
  readonly pieces: readonly string[];
  /** Tool name when answering with `tool_use`. */
  readonly toolName?: string;
}

/** Token counts making up a response's usage. @internal */
export interface UsageCounts {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly write5m: number;
  readonly write1h: number;
}

function canonical(body: MessageCreateBody): string {
  if (body.stream === undefined) return JSON.stringify(body);
  const rest: Record<string, unknown> = { ...body };
  delete rest['stream'];
  return JSON.stringify(rest);
}

/**
 * The default output length for a request: a hash of the body (ignoring `stream`) and the seed,
 * mapped to an integer in [5, 40]. The fake server then caps it at `max_tokens`.
 *
 * @param body - The request body.
 * @param seed - The server's `seed` option (default 1).
 */
export function defaultOutputTokens(body: MessageCreateBody, seed = 1): number {
  return 5 + (hash32(canonical(body), deriveSeed(seed, 'output-length')) % 36);
}

function chosenTool(body: MessageCreateBody): string | undefined {
  const tools = body.tools;
  const choice = body.tool_choice;
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  if (typeof choice !== 'object' || choice === null) return undefined;
  const c = choice as Record<string, unknown>;
  if (c['type'] === 'tool' && typeof c['name'] === 'string') return c['name'];
  if (c['type'] === 'any') {
    const first: unknown = tools[0];
    if (typeof first === 'object' && first !== null) {
      const name = (first as Record<string, unknown>)['name'];
      if (typeof name === 'string') return name;
    }
  }
  return undefined;
}

/**
 * Plans the answer to a (valid) request.
 *
 * @param body - The request body.
 * @param seed - The server seed.
 * @param outputTokens - The server's `outputTokens` option.
 * @internal
 */
export function planOutput(
  body: MessageCreateBody,
  seed: number,
  outputTokens: number | ((body: MessageCreateBody) => number) | undefined,
): OutputPlan {
  const text = canonical(body);
  const wanted =
    typeof outputTokens === 'function' ? outputTokens(body)
    : typeof outputTokens === 'number' ? outputTokens
    : 5 + (hash32(text, deriveSeed(seed, 'output-length')) % 36);
  const desired = Number.isFinite(wanted) ? Math.max(1, Math.floor(wanted)) : 1;
  const tokens = Math.min(desired, body.max_tokens);
  const capped = tokens < desired;
  const toolName = chosenTool(body);
  if (toolName !== undefined) {
    return { tokens, stopReason: capped ? 'max_tokens' : 'tool_use', pieces: [], toolName };
  }
  const rng = new SeededRandom(hash32(text, deriveSeed(seed, 'output-words')));
  const pieces: string[] = new Array<string>(tokens);
  for (let i = 0; i < tokens; i++) pieces[i] = `${WORDS[rng.nextUint32() % WORDS.length]!} `;
  return { tokens, stopReason: capped ? 'max_tokens' : 'end_turn', pieces };
}

/**
 * Builds the full SDK `Usage` object.
 *
 * @param counts - Token counts.
 * @param body - The request (for `inference_geo` and `speed`).
 * @param tier - `'standard'` for live requests, `'batch'` for batch results.
 * @internal
 */
export function buildUsage(counts: UsageCounts, body: MessageCreateBody, tier: 'standard' | 'batch'): Usage {
  const geo = body['inference_geo'];
  return {
    input_tokens: counts.input,
    output_tokens: counts.output,
    cache_creation_input_tokens: counts.write5m + counts.write1h,
    cache_read_input_tokens: counts.cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: counts.write5m,
      ephemeral_1h_input_tokens: counts.write1h,
    },
    server_tool_use: null,
    service_tier: tier,
    inference_geo: typeof geo === 'string' ? geo : 'global',
    speed: body['speed'] === 'fast' ? 'fast' : 'standard',
    output_tokens_details: null,
  };
}

/**
 * Builds the final `Message`.
 *
 * @param id - `msg_…` id.
 * @param model - Response model.
 * @param plan - The planned output.
 * @param usage - Final usage.
 * @param toolUseId - `toolu_…` id when the plan is a tool use.
 * @internal
 */
export function buildMessage(
  id: string,
  model: string,
  plan: OutputPlan,
  usage: Usage,
  toolUseId: string | undefined,
): Message {
  const content: ContentBlock[] =
    plan.toolName !== undefined ?
      [{ type: 'tool_use', id: toolUseId ?? 'toolu_0', name: plan.toolName, input: {}, caller: { type: 'direct' } }]
    : [{ type: 'text', text: plan.pieces.join(''), citations: null }];
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: plan.stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage,
  };
}
