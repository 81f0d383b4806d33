/**
 * A named prompt-injection heuristic. `name` is what a finding reports (never the matched text).
 * The pattern is tested with `RegExp.prototype.test` after resetting `lastIndex`, so `g`/`y` flags
 * are harmless.
 */
export interface InjectionPattern {
  /** Stable identifier reported in findings, logs and errors, e.g. `'ignore-previous-instructions'`. */
  name: string;
  /** The heuristic. Keep it linear-time: it runs on every user string of every request. */
  pattern: RegExp;
}

/**
 * The base64 text of `phrase` as it appears inside a longer base64 string at each of the three byte
 * alignments: the characters that do not depend on the bytes before or after the phrase.
 */
function base64Needles(phrase: string): string[] {
  const needles: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(phrase, 'utf8')]).toString('base64');
    const firstIndependent = [0, 2, 3][offset] ?? 0;
    const lastIndependent = Math.floor((offset + phrase.length) / 3) * 4;
    needles.push(encoded.slice(firstIndependent, lastIndependent));
  }
  return needles;
}

function casings(phrase: string): string[] {
  return [phrase, phrase.charAt(0).toUpperCase() + phrase.slice(1), phrase.toUpperCase()];
}

const BASE64_PHRASES = ['ignore previous', 'ignore all previous', 'disregard previous', 'system prompt', 'you are now'];

const base64Override = new RegExp(
  BASE64_PHRASES.flatMap(casings)
    .flatMap(base64Needles)
    .map((needle) => needle.replace(/[+/]/g, '\\$&'))
    .join('|'),
);

/**
 * The default injection heuristics. They are phrase patterns, not a security boundary: they catch
 * the well-known, copy-pasted attacks and miss paraphrases, other languages and novel tricks, and
 * they can fire on text that merely *discusses* prompt injection. Treat a finding as a signal to log
 * or review (`onSuspicious: 'warn'`, the default), and refuse (`'reject'`) only where false positives
 * are acceptable. Replace or extend the list with the `patterns` option.
 *
 * - `ignore-previous-instructions`: "ignore / disregard / forget (all) previous / prior / above
 *   instructions" and kin.
 * - `you-are-now`: "you are now DAN / unrestricted / in developer mode / no longer …" (not any
 *   "you are now …", which is ordinary prompt writing).
 * - `act-as-jailbreak`: "act as / pretend to be DAN, a jailbroken / unfiltered AI", "Do Anything Now".
 * - `reveal-system-prompt`: "reveal / print / repeat your (full, hidden) system prompt / initial
 *   instructions / the instructions above".
 * - `new-instructions`: "new instructions:", "updated system instructions:".
 * - `chat-role-marker`: a blank line followed by `Human:`, `Assistant:` or `System:` (the legacy
 *   turn markers, used to fake a conversation turn).
 * - `chat-template-token`: chat-template control tokens of other models (`<|im_start|>`,
 *   `<|system|>`, `<|eot_id|>`, `[INST]`, `<<SYS>>`, …).
 * - `developer-mode`: "developer / god / jailbreak / DAN / sudo mode enabled", "enable developer mode".
 * - `base64-instruction-hint`: an instruction to follow or execute something base64-encoded.
 * - `base64-encoded-override`: base64 text that encodes "ignore (all) previous", "disregard
 *   previous", "system prompt" or "you are now" (lower, capitalized or upper case), at any alignment
 *   inside a longer base64 string.
 */
export const DEFAULT_INJECTION_PATTERNS: readonly Readonly<InjectionPattern>[] = Object.freeze(
  [
    {
      name: 'ignore-previous-instructions',
      pattern:
        /\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|my|of|these|those|every)\s+)*(?:previous|prior|above|earlier|preceding|foregoing|former|original|initial|system)\s+(?:instructions?|prompts?|rules|directions?|guidelines|commands?|directives?|context)\b/i,
    },
    {
      name: 'you-are-now',
      pattern:
        /\byou\s+are\s+now\s+(?:(?:a|an|the|in|my)\s+)?(?:DAN\b|jailbr|unfiltered|unrestricted|uncensored|unlocked|evil\b|free\s+(?:from|of)\b|no\s+longer\b|(?:developer|god|jailbreak)\s+mode)/i,
    },
    {
      name: 'act-as-jailbreak',
      pattern:
        /\b(?:act|behave|respond|pretend|role-?play)\s+(?:as|like|to\s+be)\s+(?:if\s+you\s+(?:are|were)\s+)?(?:(?:a|an)\s+)?(?:DAN\b|jailbr(?:oken|eak)|unfiltered|unrestricted|uncensored|evil\s+(?:AI|assistant))|\bdo\s+anything\s+now\b/i,
    },
    {
      name: 'reveal-system-prompt',
      pattern:
        /\b(?:reveal|print|show|display|output|repeat|leak|dump|expose|recite|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\s+(?:me\s+)?(?:(?:your|the)\s+)?(?:(?:full|entire|complete|original|hidden|initial|secret|exact|verbatim)\s+)*(?:system\s+(?:prompt|message|instructions?)|initial\s+instructions|hidden\s+instructions|(?:instructions|text|prompt)\s+above)\b/i,
    },
    {
      name: 'new-instructions',
      pattern: /\b(?:new|updated|revised|real|actual|override)\s+(?:system\s+)?instructions?\s*:/i,
    },
    {
      name: 'chat-role-marker',
      pattern: /(?:\r?\n){2}[ \t]*(?:Human|Assistant|System)\s*:/,
    },
    {
      name: 'chat-template-token',
      pattern: /<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id)\|>|\[\/?INST\]|<<\/?SYS>>/i,
    },
    {
      name: 'developer-mode',
      pattern:
        /\b(?:developer|dev|god|jailbreak|DAN|sudo)\s+mode\s+(?:is\s+)?(?:now\s+)?(?:enabled|activated|on|unlocked)\b|\b(?:enable|activate|enter|switch\s+(?:to|into)|turn\s+on)\s+(?:the\s+)?(?:developer|god|jailbreak|DAN|sudo)\s+mode\b/i,
    },
    {
      name: 'base64-instruction-hint',
      pattern:
        /\bbase-?64\b[^\n]{0,80}?\b(?:follow|execute|obey|comply|instructions?)\b|\b(?:follow|execute|obey|comply\s+with)\b[^\n]{0,80}?\bbase-?64\b/i,
    },
    { name: 'base64-encoded-override', pattern: base64Override },
  ].map((entry) => Object.freeze(entry)),
);
