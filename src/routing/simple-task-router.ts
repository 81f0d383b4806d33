/**
 * The built-in cost-aware routing policy: calls a classifier marks as simple go to a cheaper model, and
 * their oversized `max_tokens` is trimmed. Requests that use prompt caching are left alone unless
 * `rerouteCached` says otherwise: the cache is per model, so switching models forfeits it (and its
 * cheaper reads) — a re-route that usually costs more than it saves.
 */

/** What a route function returns: the params to send, and why they changed (for logs and the call record). */
export interface RouteDecision<P = unknown> {
  readonly params: P;
  /** Short reason, recorded in the call record's notes. */
  readonly reason?: string;
}

/**
 * A route hook: receives the request params (Messages create) and returns params to send instead —
 * typically with another `model` or `max_tokens` — or `undefined` to send them unchanged.
 */
export type RouteFunction = (params: Readonly<Record<string, unknown>>) =>
  | RouteDecision<Record<string, unknown>>
  | Record<string, unknown>
  | undefined
  | Promise<RouteDecision<Record<string, unknown>> | Record<string, unknown> | undefined>;

/** A classifier: is this task simple enough for the cheaper model? */
export type TaskClassifier = (params: Readonly<Record<string, unknown>>) => 'simple' | 'complex';

/** Options of {@link simpleTaskRouter}. */
export interface SimpleTaskRouterOptions {
  /** The cheaper model simple tasks go to, e.g. `'claude-haiku-4-5'`. Required. */
  cheapModel: string;
  /** Decides what is simple. Default {@link keywordClassifier}. */
  classify?: TaskClassifier;
  /** `max_tokens` of a simple task is trimmed to this. Default 1024. */
  maxTokensForSimple?: number;
  /** Re-route requests that use prompt caching (`cache_control`) too. Default false. */
  rerouteCached?: boolean;
}

const SIMPLE_WORDS =
  /\b(summari[sz]e|summary|translate|translation|classify|categori[sz]e|label|tag|extract|rephrase|reword|paraphrase|proofread|spell(?:ing)?|grammar|format|convert|define|definition|sentiment|yes or no|true or false|list the|title for)\b/i;
const COMPLEX_WORDS =
  /\b(analy[sz]e|analysis|reason|prove|proof|derive|design|architect(?:ure)?|debug|refactor|implement|algorithm|optimi[sz]e|step[- ]by[- ]step|plan|strategy|compare and contrast|evaluate|critique|research|write (?:a|an) (?:essay|report|program|function))\b/i;
/** Above this much text, a task is not "simple" whatever its wording. */
const SIMPLE_MAX_CHARS = 4_000;

/** All user-authored text of a request, for classification. */
function textOf(params: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (const v of value) visit(v);
    else if (typeof value === 'object' && value !== null) {
      const block = value as { type?: unknown; text?: unknown; content?: unknown };
      if (typeof block.text === 'string') parts.push(block.text);
      else if (block.content !== undefined) visit(block.content);
    }
  };
  const messages = params.messages;
  if (Array.isArray(messages)) {
    for (const m of messages) if ((m as { role?: unknown }).role === 'user') visit((m as { content?: unknown }).content);
  }
  return parts.join('\n');
}

function hasMedia(params: Readonly<Record<string, unknown>>): boolean {
  return /"type":"(?:image|document)"/.test(JSON.stringify(params.messages ?? []));
}

/**
 * The default classifier: a keyword heuristic. Simple = short (≤ 4,000 characters of user text), no
 * tools, no images or documents, no extended thinking, wording that asks for a transformation
 * (summarize, translate, classify, extract, rephrase, format…) and none that asks for reasoning
 * (analyze, design, debug, prove, plan…). Cheap and predictable; replace it with your own for anything
 * that matters.
 */
export const keywordClassifier: TaskClassifier = (params) => {
  if (params.tools !== undefined || params.thinking !== undefined || hasMedia(params)) return 'complex';
  const text = textOf(params);
  if (text.length > SIMPLE_MAX_CHARS || COMPLEX_WORDS.test(text)) return 'complex';
  return SIMPLE_WORDS.test(text) ? 'simple' : 'complex';
};

/** Whether a request uses prompt caching anywhere (top level, system, tools or message blocks). */
export function usesPromptCache(params: Readonly<Record<string, unknown>>): boolean {
  if (params.cache_control !== undefined && params.cache_control !== null) return true;
  return /"cache_control":\{/.test(JSON.stringify([params.system ?? null, params.tools ?? null, params.messages ?? null]));
}

/**
 * Builds the built-in routing policy (pass it as the client's `route` option):
 *
 * ```ts
 * new ResilientClaude({ route: simpleTaskRouter({ cheapModel: 'claude-haiku-4-5' }) });
 * ```
 */
export function simpleTaskRouter(options: SimpleTaskRouterOptions): RouteFunction {
  const classify = options.classify ?? keywordClassifier;
  const cap = options.maxTokensForSimple ?? 1024;
  return (params) => {
    if (params.model === options.cheapModel) return undefined;
    if (!options.rerouteCached && usesPromptCache(params)) return undefined;
    if (classify(params) !== 'simple') return undefined;
    const maxTokens = typeof params.max_tokens === 'number' ? Math.min(params.max_tokens, cap) : params.max_tokens;
    return { params: { ...params, model: options.cheapModel, max_tokens: maxTokens }, reason: 'simple task' };
  };
}
