/** What {@link maskKey} returns for anything it will not partially reveal. */
export const FULL_MASK = '****';

/** Shortest string {@link maskKey} will partially reveal (shorter ones are fully masked). */
const MIN_REVEALABLE_LENGTH = 20;
const TOKEN_LIKE = /^[A-Za-z0-9_-]+$/;
const ANTHROPIC_PREFIX = 'sk-ant-';

/**
 * Masks a secret for display and logs: an Anthropic key keeps its recognizable `sk-ant-` prefix and
 * its last 4 characters (`'sk-ant-api03-…abcd'` → `'sk-ant-…abcd'`); another token-like string of 20+
 * characters keeps only its last 4 (`'…abcd'`). Anything short (< 20 characters) or odd (whitespace,
 * punctuation, non-ASCII: probably not a key, maybe a passphrase) is fully masked as `'****'`, which
 * also hides its length.
 */
export function maskKey(key: string): string {
  if (typeof key !== 'string' || key.length < MIN_REVEALABLE_LENGTH || !TOKEN_LIKE.test(key)) return FULL_MASK;
  const last4 = key.slice(-4);
  return key.startsWith(ANTHROPIC_PREFIX) ? `${ANTHROPIC_PREFIX}…${last4}` : `…${last4}`;
}
