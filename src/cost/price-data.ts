import type { PriceRowInput, ServerToolPrices } from './price-types';

/*
 * Built-in first-party Claude API list prices, USD per million tokens.
 *
 * Transcribed by hand from /work/shared/notes/pricing.md (§1 base rates, §2 modifiers, §3 server tools,
 * §5 gaps). Every row carries the notes' source keys:
 *   [P1] pricing page 2026-09-01..21   [P2] pricing page 2026-09-28..10-06   [P3] pricing page 2026-10-08..10
 *   [M] model overview pages            [RN] release notes 2026-11-09        [T1][T2] third-party (2026-11)
 *   [F] fast-mode docs (2026-11)        [F0] fast-mode docs (2026-02)         [G] pydantic/genai-prices 2026-08-21
 *   [LC] 1M-context GA post 2026-03-13  [DR] data-residency docs             [KA] kellerai.blog (2026-06)
 *   [DEP] deprecations page / SDK deprecated-models
 * Effective dates are UTC midnights. Re-check the live pricing page before shipping.
 *
 * Cache multipliers are per model (stored as five explicit rates): standard 1.25× / 2× / 0.1× input,
 * except reads at 0.025× (Fable/Mythos 5.1, Fable 5.2‡) and 0.05× (Opus 5.5; Sonnet 5.5 from 2026-10-07).
 * Fast cards carry the same per-model cache multipliers on top of the fast input rate ([P1][P2]).
 */

/** Date the long-context (>200K) surcharge on Opus 4.6 / Sonnet 4.6 was removed ([G][LC]). */
export const LONG_CONTEXT_SURCHARGE_REMOVED = '2026-03-13';

/** Built-in price rows. Dated snapshot ids are aliases of their canonical (alias) id. */
export const BUILTIN_PRICE_ROWS: readonly PriceRowInput[] = [
  // ─── Fable ────────────────────────────────────────────────────────────────────────────────────────
  {
    model: 'claude-fable-5-2',
    line: 'fable',
    version: 5.2,
    rates: { input: '8', output: '40', cacheWrite5m: '10', cacheWrite1h: '16', cacheRead: '0.20' },
    dataResidency: true,
    freeRefusals: true,
    approximate: ['cacheWrite5m', 'cacheWrite1h', 'cacheRead'],
    thirdParty: true,
    source: 'in/out [RN] 2026-11-09; cache ‡ [T1][T2] 2026-11 (read 0.025×)',
    note: 'Fast mode exists [F]; its first-party rate is n/f (Google Cloud: 2× every category [V]).',
  },
  {
    model: 'claude-fable-5-1',
    line: 'fable',
    version: 5.1,
    rates: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '0.25' },
    dataResidency: true,
    freeRefusals: true,
    source: '[P1] 2026-09 (read 0.025×)',
  },
  {
    model: 'claude-fable-5',
    line: 'fable',
    version: 5,
    rates: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '1.00' },
    dataResidency: true,
    freeRefusals: true,
    source: '[P1] 2026-09',
  },

  // ─── Mythos ───────────────────────────────────────────────────────────────────────────────────────
  {
    model: 'claude-mythos-5-2',
    line: 'mythos',
    version: 5.2,
    rates: { input: '8', output: '40', cacheWrite5m: '10', cacheWrite1h: '16', cacheRead: '0.20' },
    dataResidency: true,
    approximate: ['cacheWrite5m', 'cacheWrite1h', 'cacheRead'],
    thirdParty: true,
    source: 'in/out [RN] 2026-11-09; cache n/f, priced like claude-fable-5-2 per notes §5',
    note: 'Limited availability; fast mode available [F], first-party fast rate n/f.',
  },
  {
    model: 'claude-mythos-5-1',
    line: 'mythos',
    version: 5.1,
    rates: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '0.25' },
    dataResidency: true,
    source: '[P1] 2026-09 (read 0.025×)',
  },
  {
    model: 'claude-mythos-5',
    line: 'mythos',
    version: 5,
    rates: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '1.00' },
    dataResidency: true,
    source: '[P1] 2026-09',
  },
  {
    model: 'claude-mythos-preview',
    line: 'mythos',
    version: 4,
    // n/f officially; third parties mostly say $25/$125 (fits [KA]'s "less than half" of Fable 5's $10/$50).
    // Cache rates derived with the standard 1.25× / 2× / 0.1× multipliers.
    rates: { input: '25', output: '125', cacheWrite5m: '31.25', cacheWrite1h: '50', cacheRead: '2.50' },
    dataResidency: true,
    approximate: true,
    thirdParty: true,
    source: 'n/f on official pages; third-party $25/$125 [KA] (notes §5); cache derived',
    note: 'SDK retirement date 2026-06-30.',
  },

  // ─── Opus ─────────────────────────────────────────────────────────────────────────────────────────
  {
    model: 'claude-opus-5-5',
    line: 'opus',
    version: 5.5,
    rates: { input: '4', output: '20', cacheWrite5m: '5', cacheWrite1h: '8', cacheRead: '0.20' },
    fast: { input: '8', output: '40', cacheWrite5m: '10', cacheWrite1h: '16', cacheRead: '0.40' },
    dataResidency: true,
    source: '[P2] 2026-09-28+, [M] (read 0.05×; fast $8/$40 with cache multipliers on top)',
  },
  {
    model: 'claude-opus-5',
    line: 'opus',
    version: 5,
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    fast: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '1.00' },
    dataResidency: true,
    source: '[P1][P2] (fast research preview $10/$50)',
  },
  {
    model: 'claude-opus-4-8',
    line: 'opus',
    version: 4.8,
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    fast: { input: '10', output: '50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '1.00' },
    dataResidency: true,
    source: '[P1][P2][F]',
    note: 'Fast mode deprecated 2026-10-30, removed 2026-11-30 [F].',
  },
  {
    model: 'claude-opus-4-7',
    line: 'opus',
    version: 4.7,
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    dataResidency: true,
    source: '[P1][F]',
    note: '`speed:"fast"` returns an error (removed 2026-07-24); no fast rate published.',
  },
  {
    model: 'claude-opus-4-6',
    line: 'opus',
    version: 4.6,
    // Before the 1M-context GA: prompts over 200K billed 2× input/cache and 1.5× output ([P1][G][LC]).
    // Fast (Feb 2026 [F0]): $30/$150, >200K $60/$225; cache multipliers applied on top.
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    fast: { input: '30', output: '150', cacheWrite5m: '37.50', cacheWrite1h: '60', cacheRead: '3.00' },
    tiers: [
      {
        abovePromptTokens: 200_000,
        rates: { input: '10', output: '37.50', cacheWrite5m: '12.50', cacheWrite1h: '20', cacheRead: '1.00' },
        fast: { input: '60', output: '225', cacheWrite5m: '75', cacheWrite1h: '120', cacheRead: '6.00' },
      },
    ],
    dataResidency: true,
    source: '[P1][G][LC] (>200K tier until 2026-03-13); fast [F0] 2026-02',
  },
  {
    model: 'claude-opus-4-6',
    line: 'opus',
    version: 4.6,
    effectiveFrom: LONG_CONTEXT_SURCHARGE_REMOVED,
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    fast: { input: '30', output: '150', cacheWrite5m: '37.50', cacheWrite1h: '60', cacheRead: '3.00' },
    dataResidency: true,
    source: '[P1][G][LC]; fast [F0] 2026-02',
    note: 'A fast request now runs and bills at standard speed: price from usage.speed [P1].',
  },
  {
    model: 'claude-opus-4-5',
    aliases: ['claude-opus-4-5-20251101'],
    line: 'opus',
    version: 4.5,
    rates: { input: '5', output: '25', cacheWrite5m: '6.25', cacheWrite1h: '10', cacheRead: '0.50' },
    source: '[P1][M]',
    note: 'No inference_geo support (400). SDK deprecation date 2027-01-22.',
  },
  {
    model: 'claude-opus-4-1',
    // The dated snapshot id appears in the SDK's MODEL_NONSTREAMING_TOKENS (`claude-opus-4-1@20250805`).
    aliases: ['claude-opus-4-1-20250805'],
    line: 'opus',
    version: 4.1,
    rates: { input: '15', output: '75', cacheWrite5m: '18.75', cacheWrite1h: '30', cacheRead: '1.50' },
    source: '[P1]',
    note: 'Retired on the Claude API (still on Bedrock and Google Cloud).',
  },
  {
    model: 'claude-opus-4-0',
    aliases: ['claude-opus-4-20250514'],
    line: 'opus',
    version: 4.0,
    rates: { input: '15', output: '75', cacheWrite5m: '18.75', cacheWrite1h: '30', cacheRead: '1.50' },
    source: '[P1][DEP]',
    note: 'Retired 2026-06-15 (still on Google Cloud).',
  },

  // ─── Sonnet ───────────────────────────────────────────────────────────────────────────────────────
  {
    model: 'claude-sonnet-5-5',
    line: 'sonnet',
    version: 5.5,
    rates: { input: '2', output: '10', cacheWrite5m: '2.50', cacheWrite1h: '4', cacheRead: '0.20' },
    dataResidency: true,
    source: '[P2] 2026-09-28..10-06 (read $0.20)',
  },
  {
    model: 'claude-sonnet-5-5',
    line: 'sonnet',
    version: 5.5,
    effectiveFrom: '2026-10-07',
    rates: { input: '2', output: '10', cacheWrite5m: '2.50', cacheWrite1h: '4', cacheRead: '0.10' },
    dataResidency: true,
    source: '[P3] 2026-10-08..10 (read $0.10 = 0.05× from 2026-10-07)',
  },
  {
    model: 'claude-sonnet-5',
    line: 'sonnet',
    version: 5,
    rates: { input: '2', output: '10', cacheWrite5m: '2.50', cacheWrite1h: '4', cacheRead: '0.20' },
    dataResidency: true,
    source: '[P1]',
    note: 'The planned 2026-09-01 rise to $3/$15 was cancelled ([P1] over [G]).',
  },
  {
    model: 'claude-sonnet-4-6',
    line: 'sonnet',
    version: 4.6,
    rates: { input: '3', output: '15', cacheWrite5m: '3.75', cacheWrite1h: '6', cacheRead: '0.30' },
    tiers: [
      {
        abovePromptTokens: 200_000,
        rates: { input: '6', output: '22.50', cacheWrite5m: '7.50', cacheWrite1h: '12', cacheRead: '0.60' },
      },
    ],
    dataResidency: true,
    source: '[P1][G][LC] (>200K tier until 2026-03-13)',
  },
  {
    model: 'claude-sonnet-4-6',
    line: 'sonnet',
    version: 4.6,
    effectiveFrom: LONG_CONTEXT_SURCHARGE_REMOVED,
    rates: { input: '3', output: '15', cacheWrite5m: '3.75', cacheWrite1h: '6', cacheRead: '0.30' },
    dataResidency: true,
    source: '[P1][G][LC]',
  },
  {
    model: 'claude-sonnet-4-5',
    aliases: ['claude-sonnet-4-5-20250929'],
    line: 'sonnet',
    version: 4.5,
    rates: { input: '3', output: '15', cacheWrite5m: '3.75', cacheWrite1h: '6', cacheRead: '0.30' },
    source: '[P1][M]',
    note: 'A >200K tier appears only in [G]/OpenRouter, not on the official page: not applied. Retires 2026-11-30.',
  },
  {
    model: 'claude-sonnet-4-0',
    aliases: ['claude-sonnet-4-20250514'],
    line: 'sonnet',
    version: 4.0,
    rates: { input: '3', output: '15', cacheWrite5m: '3.75', cacheWrite1h: '6', cacheRead: '0.30' },
    source: '[P1][DEP]',
    note: 'Retired 2026-06-15 (still on Bedrock and Google Cloud).',
  },
  {
    model: 'claude-3-7-sonnet-latest',
    aliases: ['claude-3-7-sonnet-20250219'],
    line: 'sonnet',
    version: 3.7,
    rates: { input: '3', output: '15', cacheWrite5m: '3.75', cacheWrite1h: '6', cacheRead: '0.30' },
    thirdParty: true,
    source: '[G] checked 2026-07-29',
    note: 'Absent from the 2026 pricing page; retired 2026-02-19.',
  },

  // ─── Haiku ────────────────────────────────────────────────────────────────────────────────────────
  {
    model: 'claude-haiku-5-5',
    line: 'haiku',
    version: 5.5,
    rates: { input: '0.10', output: '0.50', cacheWrite5m: '0.125', cacheWrite1h: '0.20', cacheRead: '0.01' },
    tiers: [
      {
        abovePromptTokens: 100_000,
        rates: { input: '0.50', output: '2.50', cacheWrite5m: '0.625', cacheWrite1h: '1.00', cacheRead: '0.05' },
      },
    ],
    dataResidency: true,
    source: '[P3][M] 2026-10 (prompt-length tier: >100,000 → higher row for every category)',
  },
  {
    model: 'claude-haiku-4-5',
    aliases: ['claude-haiku-4-5-20251001'],
    line: 'haiku',
    version: 4.5,
    rates: { input: '1', output: '5', cacheWrite5m: '1.25', cacheWrite1h: '2', cacheRead: '0.10' },
    source: '[P1]',
    note: 'Some trackers say $0.80/$4: that is Haiku 3.5.',
  },
  {
    model: 'claude-3-5-haiku-20241022',
    aliases: ['claude-3-5-haiku-latest'],
    line: 'haiku',
    version: 3.5,
    rates: { input: '0.80', output: '4', cacheWrite5m: '1', cacheWrite1h: '1.60', cacheRead: '0.08' },
    source: '[P1]',
    note: 'Retired on the Claude API (still on Bedrock and Google Cloud).',
  },
  {
    model: 'claude-3-haiku-20240307',
    line: 'haiku',
    version: 3,
    rates: { input: '0.25', output: '1.25', cacheWrite5m: '0.30', cacheWrite1h: '0.50', cacheRead: '0.03' },
    thirdParty: true,
    source: '[G] checked 2026-07-29',
    note: 'Absent from the 2026 pricing page.',
  },
];

/** Server tools ([P1] §3): web search $10 per 1,000 requests; web fetch costs only its tokens. */
export const BUILTIN_SERVER_TOOL_PRICES: ServerToolPrices = {
  webSearchUsd: '0.01',
  webFetchUsd: '0',
  source: '[P1] (web search $10/1K; web fetch no extra charge)',
};
