import { InputRejectedError } from '../errors/input-rejected-error';
import { DEFAULT_INJECTION_PATTERNS, type InjectionPattern } from './injection-patterns';

/** A suspected prompt injection: which heuristic fired, and where. Never the matched text. */
export interface SuspiciousFinding {
  /** Name of the pattern that matched, e.g. `'ignore-previous-instructions'`. */
  pattern: string;
  /** Path of the string that matched, e.g. `'messages[3].content[1].text'` or `'system'`. */
  location: string;
}

/** What to do with findings: log them (`warn`), refuse the call (`reject`), or not look (`ignore`). */
export type SuspiciousPolicy = 'warn' | 'reject' | 'ignore';

/**
 * One piece of input, as seen by a token estimator: a text string (after NUL removal), an image,
 * or a PDF document. `base64Length` is the length of inline base64 data (0 for URL and file sources).
 */
export type InputPart =
  | { kind: 'text'; text: string }
  | { kind: 'image'; base64Length: number }
  | { kind: 'pdf'; base64Length: number };

/** Estimates the input tokens of one {@link InputPart}. */
export type InputTokenEstimator = (part: InputPart) => number;

/** Tokens the default estimator charges per image: the API's figure for a ~1.15-megapixel image. */
export const DEFAULT_IMAGE_TOKENS = 1_600;

/**
 * The default token estimator, deliberately simple (it bounds sizes; it is not a tokenizer):
 * - text: `ceil(length / 4)` (about 4 characters per token for English);
 * - image: {@link DEFAULT_IMAGE_TOKENS} whatever its size (images are downscaled to about that);
 * - PDF: `ceil(decodedBytes / 40)`, a rough guess of ~2,500 tokens per 100 KB for text-heavy PDFs
 *   (the real cost depends on page count and content; pass your own estimator if it matters).
 */
export const defaultTokenEstimator: InputTokenEstimator = (part) => {
  switch (part.kind) {
    case 'text':
      return Math.ceil(part.text.length / 4);
    case 'image':
      return DEFAULT_IMAGE_TOKENS;
    default:
      return Math.ceil((part.base64Length * 3) / 4 / 40);
  }
};

/** Options of {@link sanitizeParams}. */
export interface SanitizeParamsOptions {
  /** Injection heuristics. Default {@link DEFAULT_INJECTION_PATTERNS}; `[]` turns detection off. */
  patterns?: readonly InjectionPattern[];
  /**
   * Also scan `assistant` turns for injection phrases. Default `false`: they are usually the
   * model's own earlier output, and re-flagging them every turn is noise. (NUL bytes are stripped
   * from every role regardless.)
   */
  scanAssistant?: boolean;
  /**
   * Refuse the call (`InputRejectedError`, reason `'too_large'`) when the input is longer than this
   * many characters. Counted: every scanned string (after NUL removal). Not counted: inline images and
   * PDFs (their size is bounded by the API's request limit instead), tool definitions, tool_use inputs,
   * thinking blocks, other fields. Default: no limit.
   */
  maxInputChars?: number;
  /**
   * Refuse the call when the estimated input tokens (same parts as `maxInputChars`, also URL/file
   * images and PDFs, through `estimateTokens`) exceed this. Default: no limit.
   */
  maxInputTokens?: number;
  /** Token estimator for `maxInputTokens`. Default {@link defaultTokenEstimator}. */
  estimateTokens?: InputTokenEstimator;
}

/** The result of {@link sanitizeParams}. */
export interface SanitizeResult<P> {
  /** The params to send: the very same object when nothing changed, else a copy-on-write copy. */
  params: P;
  /** True when NUL bytes were removed (then `params` is a new object; the input is never mutated). */
  changed: boolean;
  /** How many NUL characters were removed. */
  nulBytesRemoved: number;
  /** Suspected injections, in document order (one per pattern and location). */
  findings: SuspiciousFinding[];
}

type Dict = Record<string, unknown>;

interface Walk {
  readonly patterns: readonly InjectionPattern[];
  readonly maxChars: number;
  readonly maxTokens: number;
  readonly estimate: InputTokenEstimator | undefined;
  readonly findings: SuspiciousFinding[];
  scan: boolean;
  chars: number;
  tokens: number;
  nul: number;
}

const NUL = '\u0000';
/** Invisible characters an attacker can sprinkle inside a phrase to dodge the patterns. */
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/;
const INVISIBLE_ALL = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `obj` itself when `obj[key]` is already `value`, else a shallow copy with `key` replaced. */
function withField(obj: Dict, key: string, value: unknown): Dict {
  return obj[key] === value ? obj : { ...obj, [key]: value };
}

function tooLarge(path: string, limit: string, max: number, counted: number, unit: string): InputRejectedError {
  return new InputRejectedError(
    path,
    'too_large',
    `input exceeds ${limit} ${max} (${counted} ${unit} counted up to and including this field); ` +
      'the request was not sent and nothing was truncated',
  );
}

function addTokens(w: Walk, part: InputPart, path: string): void {
  if (!w.estimate) return;
  w.tokens += w.estimate(part);
  if (w.tokens > w.maxTokens) throw tooLarge(path, 'maxInputTokens', w.maxTokens, w.tokens, 'estimated tokens');
}

function addChars(w: Walk, count: number, path: string): void {
  w.chars += count;
  if (w.chars > w.maxChars) throw tooLarge(path, 'maxInputChars', w.maxChars, w.chars, 'characters');
}

function scanText(w: Walk, text: string, path: string): void {
  const target = INVISIBLE.test(text) ? text.replace(INVISIBLE_ALL, '') : text;
  for (const { name, pattern } of w.patterns) {
    pattern.lastIndex = 0;
    if (pattern.test(target)) w.findings.push({ pattern: name, location: path });
  }
}

function visitText(w: Walk, text: string, path: string): string {
  let out = text;
  if (text.includes(NUL)) {
    out = text.replaceAll(NUL, '');
    w.nul += text.length - out.length;
  }
  addChars(w, out.length, path);
  addTokens(w, { kind: 'text', text: out }, path);
  if (w.scan && w.patterns.length > 0) scanText(w, out, path);
  return out;
}

/**
 * Images and PDFs: counted toward the token estimate, never scanned or changed, and not toward
 * `maxInputChars` — a 9 MB PDF is valid input, bounded by the API's request size (see {@link sanitizeParams}).
 */
function countBinary(w: Walk, kind: 'image' | 'pdf', source: unknown, path: string): void {
  const data = isDict(source) && source['type'] === 'base64' ? source['data'] : undefined;
  const base64Length = typeof data === 'string' ? data.length : 0;
  addTokens(w, { kind, base64Length }, path);
}

function visitContent(w: Walk, content: unknown, path: string): unknown {
  if (typeof content === 'string') return visitText(w, content, path);
  if (Array.isArray(content)) return visitBlocks(w, content, path);
  return content;
}

function visitBlocks(w: Walk, blocks: readonly unknown[], path: string): readonly unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    const next = visitBlock(w, block, `${path}[${i}]`);
    if (next !== block) {
      copy ??= blocks.slice();
      copy[i] = next;
    }
  }
  return copy ?? blocks;
}

function visitOptionalText(w: Walk, obj: Dict, key: string, path: string): Dict {
  const value = obj[key];
  return typeof value === 'string' ? withField(obj, key, visitText(w, value, `${path}.${key}`)) : obj;
}

function visitBlock(w: Walk, block: unknown, path: string): unknown {
  if (!isDict(block)) return block;
  switch (block['type']) {
    case 'text':
      return visitOptionalText(w, block, 'text', path);
    case 'tool_result':
      return withField(block, 'content', visitContent(w, block['content'], `${path}.content`));
    case 'search_result': {
      const content = block['content'];
      const out = Array.isArray(content) ? withField(block, 'content', visitBlocks(w, content, `${path}.content`)) : block;
      return visitOptionalText(w, out, 'title', path);
    }
    case 'document': {
      const source = block['source'];
      let out = block;
      if (isDict(source)) {
        const sourcePath = `${path}.source`;
        if (source['type'] === 'text') out = withField(block, 'source', visitOptionalText(w, source, 'data', sourcePath));
        else if (source['type'] === 'content') {
          out = withField(block, 'source', withField(source, 'content', visitContent(w, source['content'], `${sourcePath}.content`)));
        } else countBinary(w, 'pdf', source, sourcePath);
      }
      return visitOptionalText(w, visitOptionalText(w, out, 'title', path), 'context', path);
    }
    case 'image':
      countBinary(w, 'image', block['source'], `${path}.source`);
      return block;
    default:
      // tool_use inputs, thinking / redacted_thinking (signed: must stay byte-identical), server-tool
      // results and unknown block types are passed through untouched.
      return block;
  }
}

/**
 * Sanitizes Messages API params (`messages.create`, `countTokens`, batch entries, beta variants):
 *
 * - **NUL bytes** (U+0000) are removed from every user-supplied string that reaches the model as
 *   text: `system` (string or text blocks), message `content` strings, `text` blocks, `tool_result`
 *   content (string or blocks, recursively), `document` text sources (`source.data` of a plain-text
 *   source, `source.content` of a content source) and document `title`/`context`, `search_result`
 *   content and title. Nothing else changes. With no NUL anywhere the *same* `params` object comes
 *   back (`changed: false`), so the caller can forward the original JSON byte for byte; otherwise a
 *   copy-on-write copy (untouched messages and blocks are shared, the input is never mutated).
 * - **Injection phrases** are looked for in the same strings (after NUL removal, ignoring invisible
 *   characters such as zero-width spaces) in `user` and `system` turns (`assistant` turns with
 *   `scanAssistant`). Findings name the pattern and location, never the text; applying the policy
 *   is the caller's job ({@link enforceSuspiciousPolicy}).
 * - **Size limits** (`maxInputChars`, `maxInputTokens`) throw `InputRejectedError` (`'too_large'`)
 *   naming the field where the running total crossed the limit. Input is never truncated.
 *
 * Images and base64 PDFs are not scanned as text: base64 cannot contain NUL, and running phrase
 * patterns over megabytes of encoded binary costs time and finds only noise. They do count toward
 * the token estimate for `maxInputTokens`; their bytes count only toward the request size limit, which
 * the sanitize layer checks on the encoded body.
 * `tool_use` inputs, `thinking` blocks (signed), tool definitions and other fields are left alone.
 *
 * The input is treated as untrusted JSON: malformed shapes are passed through, not rejected
 * (that is {@link validateMessageParams}'s job).
 *
 * @throws InputRejectedError with reason `'too_large'` when a size limit is exceeded.
 */
export function sanitizeParams<P>(params: P, options: SanitizeParamsOptions = {}): SanitizeResult<P> {
  const findings: SuspiciousFinding[] = [];
  if (!isDict(params)) return { params, changed: false, nulBytesRemoved: 0, findings };
  const maxTokens = options.maxInputTokens ?? Infinity;
  const w: Walk = {
    patterns: options.patterns ?? DEFAULT_INJECTION_PATTERNS,
    maxChars: options.maxInputChars ?? Infinity,
    maxTokens,
    estimate: maxTokens === Infinity ? undefined : (options.estimateTokens ?? defaultTokenEstimator),
    findings,
    scan: true,
    chars: 0,
    tokens: 0,
    nul: 0,
  };
  let out: Dict = params;
  if (params['system'] !== undefined) out = withField(out, 'system', visitContent(w, params['system'], 'system'));
  const messages = params['messages'];
  if (Array.isArray(messages)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const message: unknown = messages[i];
      if (!isDict(message)) continue;
      w.scan = message['role'] !== 'assistant' || options.scanAssistant === true;
      const content = visitContent(w, message['content'], `messages[${i}].content`);
      if (content !== message['content']) {
        copy ??= messages.slice();
        copy[i] = { ...message, content };
      }
    }
    if (copy) out = withField(out, 'messages', copy);
  }
  return { params: out as P, changed: out !== params, nulBytesRemoved: w.nul, findings };
}

/**
 * Applies the `onSuspicious` policy to findings: with `'reject'` and at least one finding, throws
 * `InputRejectedError(location, 'suspicious', …)` for the first one (the message names the pattern
 * and location, never the text); otherwise returns the findings for the caller to log.
 */
export function enforceSuspiciousPolicy(
  findings: readonly SuspiciousFinding[],
  policy: SuspiciousPolicy,
): readonly SuspiciousFinding[] {
  const first = findings[0];
  if (policy === 'reject' && first) {
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more finding${findings.length > 2 ? 's' : ''})` : '';
    throw new InputRejectedError(
      first.location,
      'suspicious',
      `text matches the prompt-injection pattern "${first.pattern}"${more}; refused by onSuspicious: 'reject'`,
    );
  }
  return findings;
}
