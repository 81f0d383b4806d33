/**
 * The fake server's model catalogue (`GET /v1/models`, `GET /v1/models/{id}`), model aliases, and
 * the cursor pagination shared with the batches list.
 *
 * @module
 */
import type { ModelInfo, ModelCapabilities, ModelLine } from '@anthropic-ai/sdk/resources/models';

/**
 * The ids served by `GET /v1/models` when no `models` option is given: the SDK 1.14.0 `Model`
 * union, in its order (newest first).
 */
export const DEFAULT_MODEL_IDS: readonly string[] = [
  'claude-fable-5-2',
  'claude-mythos-5-2',
  'claude-haiku-5-5',
  'claude-sonnet-5-5',
  'claude-fable-5-1',
  'claude-opus-5-5',
  'claude-mythos-5-1',
  'claude-sonnet-5',
  'claude-fable-5',
  'claude-mythos-5',
  'claude-opus-5',
  'claude-opus-4-8',
  'claude-opus-4-7',
  'claude-mythos-preview',
  'claude-opus-4-6',
  'claude-sonnet-4-6',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-5',
  'claude-opus-4-5-20251101',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
];

/** Default `modelAliases`: undated ids answer with the dated id, like the real API. */
export const DEFAULT_MODEL_ALIASES: Readonly<Record<string, string>> = {
  'claude-sonnet-4-5': 'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5': 'claude-haiku-4-5-20251001',
  'claude-opus-4-5': 'claude-opus-4-5-20251101',
};

/** Deprecations the SDK 1.14.0 knows about (`DEPRECATED_MODELS`): id → retirement date. */
const RETIREMENTS: Readonly<Record<string, string>> = {
  'claude-mythos-preview': '2026-06-30T00:00:00Z',
  'claude-opus-4-5': '2027-01-22T00:00:00Z',
  'claude-opus-4-5-20251101': '2027-01-22T00:00:00Z',
  'claude-sonnet-4-5': '2026-11-30T00:00:00Z',
  'claude-sonnet-4-5-20250929': '2026-11-30T00:00:00Z',
};

const LINES: readonly ModelLine[] = ['haiku', 'sonnet', 'opus', 'fable', 'mythos'];

function supported(yes: boolean): { supported: boolean } {
  return { supported: yes };
}

function capabilities(): ModelCapabilities {
  return {
    batch: supported(true),
    citations: supported(true),
    code_execution: supported(true),
    context_management: {
      supported: true,
      clear_thinking_20251015: supported(true),
      clear_tool_uses_20250919: supported(true),
      compact_20260112: supported(true),
    },
    effort: {
      supported: true,
      low: supported(true),
      medium: supported(true),
      high: supported(true),
      max: supported(true),
      xhigh: supported(false),
    },
    image_input: supported(true),
    pdf_input: supported(true),
    server_tools: { supported: true, code_execution: supported(true), web_search: supported(true) },
    structured_outputs: supported(true),
    thinking: {
      supported: true,
      types: {
        adaptive: supported(true),
        between_tools: supported(true),
        disabled: supported(true),
        enabled: supported(true),
      },
    },
  };
}

function displayName(id: string, line: ModelLine | null): string {
  const rest = id
    .replace(/^claude-/, '')
    .replace(/-\d{8}$/, '')
    .split('-');
  if (line === null) return id;
  const words = rest.filter((w) => w !== line);
  const version = words.filter((w) => /^\d+$/.test(w)).join('.');
  const extra = words.filter((w) => !/^\d+$/.test(w)).map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return ['Claude', line.charAt(0).toUpperCase() + line.slice(1), version, ...extra].filter(Boolean).join(' ');
}

/**
 * Builds a plausible `ModelInfo` for any model id. Dated ids (`…-YYYYMMDD`) are created on that
 * date; others get a stable date derived from their position in the catalogue (newer first).
 *
 * @param id - The model id.
 * @param index - Position in the served list.
 */
export function modelInfo(id: string, index: number): ModelInfo {
  const line = LINES.find((l) => id.split('-').includes(l)) ?? null;
  const dated = /-(\d{4})(\d{2})(\d{2})$/.exec(id);
  const created =
    dated !== null ?
      `${dated[1]}-${dated[2]}-${dated[3]}T00:00:00Z`
    : new Date(Date.UTC(2026, 5, 1) - index * 7 * 86_400_000).toISOString().replace('.000Z', 'Z');
  const retiresAt = RETIREMENTS[id] ?? null;
  return {
    type: 'model',
    id,
    display_name: displayName(id, line),
    created_at: created,
    lifecycle: retiresAt !== null ? 'deprecated' : 'active',
    deprecated_at: retiresAt !== null ? '2026-01-15T00:00:00Z' : null,
    retires_at: retiresAt,
    line,
    max_input_tokens: 200_000,
    max_tokens: line === 'opus' ? 32_000 : 64_000,
    capabilities: capabilities(),
  };
}

/** A page in the API's list shape. */
export interface ListPage<T> {
  /** Items on this page. */
  data: T[];
  /** Whether more items exist beyond this page (in the paging direction). */
  has_more: boolean;
  /** Id of the first item on the page, or null when empty. */
  first_id: string | null;
  /** Id of the last item on the page, or null when empty. */
  last_id: string | null;
}

/**
 * Cursor pagination over an ordered list: `limit` (default 20, 1–1000), `after_id` (items after
 * that id) or `before_id` (the `limit` items just before that id). An unknown cursor yields an
 * empty page.
 *
 * @param items - All items, in list order.
 * @param query - The request's query parameters.
 * @returns The page, or an error message for a bad `limit`.
 * @internal
 */
export function paginate<T extends { id: string }>(items: readonly T[], query: URLSearchParams): ListPage<T> | string {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return 'limit: Input should be an integer between 1 and 1000';
  }
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  let start: number;
  let end: number;
  let backwards = false;
  if (beforeId !== null) {
    end = items.findIndex((m) => m.id === beforeId);
    if (end < 0) end = 0;
    start = Math.max(0, end - limit);
    backwards = true;
  } else if (afterId !== null) {
    const at = items.findIndex((m) => m.id === afterId);
    start = at < 0 ? items.length : at + 1;
    end = Math.min(items.length, start + limit);
  } else {
    start = 0;
    end = Math.min(items.length, limit);
  }
  const data = items.slice(start, end);
  return {
    data,
    has_more: backwards ? start > 0 : end < items.length,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}
