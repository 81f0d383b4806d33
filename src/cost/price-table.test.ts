import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../errors/config-error';
import { callCost } from './call-cost';
import { BUILTIN_PRICE_ROWS } from './price-data';
import { PriceTable, lineFromModelId, versionFromModelId, type UnknownModelInfo } from './price-table';
import { RATE_KEYS } from './price-types';

const AT = Date.UTC(2026, 10, 27);

/** The literal members of the SDK's `Model` union (drops the `string & {}` escape hatch). */
type Literal<T> = T extends string ? (string extends T ? never : T) : never;
type SdkModelId = Literal<Anthropic.Model>;

const SDK_MODEL_IDS = [
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
] as const satisfies readonly SdkModelId[];

// Compile-time: the list above covers every literal of the SDK union (an SDK upgrade adding ids breaks this).
const coversUnion: [Exclude<SdkModelId, (typeof SDK_MODEL_IDS)[number]>] extends [never] ? true : false = true;

const OLDER_IDS = [
  'claude-opus-4-1',
  'claude-opus-4-0',
  'claude-opus-4-20250514',
  'claude-sonnet-4-0',
  'claude-sonnet-4-20250514',
  'claude-3-7-sonnet-20250219',
  'claude-3-7-sonnet-latest',
  'claude-3-5-haiku-20241022',
  'claude-3-haiku-20240307',
];

describe('PriceTable data', () => {
  const table = new PriceTable();

  it('has an exact row for every id of the SDK Model union and the older ids of the notes', () => {
    expect(coversUnion).toBe(true);
    for (const id of [...SDK_MODEL_IDS, ...OLDER_IDS]) {
      const r = table.resolve(id, AT);
      expect(r.unknownModel, id).toBe(false);
      for (const k of RATE_KEYS) expect(r.row.rates[k] > 0n, `${id} ${k}`).toBe(true);
    }
  });

  it('normalizes dated ids to their alias', () => {
    expect(table.canonicalId('claude-haiku-4-5-20251001')).toBe('claude-haiku-4-5');
    expect(table.canonicalId('claude-sonnet-4-5-20250929')).toBe('claude-sonnet-4-5');
    expect(table.canonicalId('claude-opus-4-5-20251101')).toBe('claude-opus-4-5');
    expect(table.canonicalId('claude-opus-4-20250514')).toBe('claude-opus-4-0');
    expect(table.canonicalId('claude-sonnet-4-20250514')).toBe('claude-sonnet-4-0');
    expect(table.canonicalId('CLAUDE-HAIKU-4-5')).toBe('claude-haiku-4-5');
    // a future snapshot of a known alias normalizes by stripping the date
    expect(table.canonicalId('claude-opus-4-7-20270101')).toBe('claude-opus-4-7');
    expect(table.canonicalId('claude-fable-5-3')).toBeUndefined();
  });

  it('stores five rates per model (no global multiplier) and a source on every row', () => {
    for (const row of BUILTIN_PRICE_ROWS) expect(row.source?.length).toBeGreaterThan(0);
    // read multipliers differ per model: 0.025× (Fable 5.1), 0.05× (Opus 5.5), 0.1× (Opus 5)
    const ratio = (m: string) => {
      const r = table.rowAt(m, AT)!.rates;
      return Number(r.cacheRead) / Number(r.input);
    };
    expect(ratio('claude-fable-5-1')).toBe(0.025);
    expect(ratio('claude-opus-5-5')).toBe(0.05);
    expect(ratio('claude-opus-5')).toBe(0.1);
    expect(ratio('claude-sonnet-5-5')).toBe(0.05); // from 2026-10-07
  });

  it('flags third-party and n/f rows', () => {
    expect(table.rowAt('claude-mythos-preview', AT)!.approximate.size).toBe(5);
    expect(table.rowAt('claude-mythos-preview', AT)!.thirdParty).toBe(true);
    expect([...table.rowAt('claude-fable-5-2', AT)!.approximate].sort()).toEqual(['cacheRead', 'cacheWrite1h', 'cacheWrite5m']);
    expect(table.rowAt('claude-opus-5', AT)!.approximate.size).toBe(0);
    expect(table.rowAt('claude-opus-4-6', AT)!.dataResidency).toBe(true);
    expect(table.rowAt('claude-haiku-4-5', AT)!.dataResidency).toBe(false);
  });
});

describe('lookup helpers', () => {
  it('reads the line and the version from an id', () => {
    expect(lineFromModelId('claude-opus-9-1')).toBe('opus');
    expect(lineFromModelId('claude-3-5-haiku-20241022')).toBe('haiku');
    expect(lineFromModelId('anthropic.claude-sonnet-4-5-v1:0')).toBe('sonnet');
    expect(lineFromModelId('gpt-4o')).toBeUndefined();
    expect(lineFromModelId('claude-opusx')).toBeUndefined();
    expect(versionFromModelId('claude-opus-4-6')).toBe(4.6);
    expect(versionFromModelId('claude-sonnet-5')).toBe(5);
    expect(versionFromModelId('claude-opus-4-20250514')).toBe(4);
    expect(versionFromModelId('claude-3-5-haiku-20241022')).toBe(3.5);
    expect(versionFromModelId('claude-mythos-preview')).toBe(0);
  });
});

describe('unknown models', () => {
  it('reports each unknown id once (the table dedups; the layer only logs)', () => {
    const seen: UnknownModelInfo[] = [];
    const table = new PriceTable({ onUnknownModel: (i) => seen.push(i) });
    for (let i = 0; i < 3; i++) {
      callCost(table, { model: 'claude-opus-9', usage: { input_tokens: 1 }, at: AT });
      callCost(table, { model: 'mystery', usage: { input_tokens: 1 }, at: AT });
      callCost(table, { model: 'claude-opus-5', usage: { input_tokens: 1 }, at: AT });
    }
    expect(seen).toEqual([
      { model: 'claude-opus-9', pricedModel: 'claude-opus-5-5', line: 'opus', fallback: 'same-line' },
      { model: 'mystery', pricedModel: 'claude-fable-5-2', line: undefined, fallback: 'unknown-line' },
    ]);
    expect(table.unknownModelsSeen()).toEqual(['claude-opus-9', 'mystery']);
  });

  it('bounds the remembered ids and survives a throwing callback', () => {
    const cb = vi.fn(() => {
      throw new Error('listener bug');
    });
    const table = new PriceTable({ onUnknownModel: cb, maxReportedUnknownModels: 2 });
    for (const m of ['claude-haiku-9', 'claude-haiku-10', 'claude-haiku-11', 'claude-haiku-9']) {
      // claude-haiku-5-5's card (its >100K tier is kept for unknown haikus): 100000×0.10 = 0.01
      expect(callCost(table, { model: m, usage: { input_tokens: 100_000 }, at: AT }).exact).toBe('0.01');
    }
    expect(cb).toHaveBeenCalledTimes(2);
  });

  it('falls back to the newest row in effect at the call time', () => {
    const table = new PriceTable();
    // claude-sonnet-9 → claude-sonnet-5-5; derived read = 0.1 × input ($0.20), whatever the model's own read rate
    const r = table.resolve('claude-sonnet-9', Date.UTC(2026, 9, 1));
    expect(r.pricedModel).toBe('claude-sonnet-5-5');
    expect(r.row.rates.cacheRead).toBe(200_000_000n); // $0.20/MTok = 2e8 fUSD/token
  });
});

describe('user rows (cost.prices)', () => {
  it('adds a model and overrides a built-in one (replacing all its rows)', () => {
    const table = new PriceTable({
      prices: [
        {
          model: 'my-finetune',
          aliases: ['my-finetune-20270101'],
          line: 'sonnet',
          rates: { input: 1, output: '2', cacheWrite5m: '1.25', cacheWrite1h: '2', cacheRead: '0.1' },
        },
        {
          model: 'claude-sonnet-5-5',
          line: 'sonnet',
          rates: { input: '1', output: '5', cacheWrite5m: '1.25', cacheWrite1h: '2', cacheRead: '0.05' },
          source: 'contract 2026-11',
        },
      ],
    });
    // 1000×1 + 1000×2 → 0.003
    expect(callCost(table, { model: 'my-finetune-20270101', usage: { input_tokens: 1000, output_tokens: 1000 }, at: AT }).exact).toBe('0.003');
    expect(table.rowsFor('claude-sonnet-5-5')).toHaveLength(1);
    expect(table.rowAt('claude-sonnet-5-5', 0)!.source).toBe('contract 2026-11');
    expect(table.rowAt('my-finetune', AT)!.userSupplied).toBe(true);
  });

  it('keeps built-in aliases of a replaced model', () => {
    const table = new PriceTable({
      prices: [{ model: 'claude-haiku-4-5', line: 'haiku', rates: { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 } }],
    });
    expect(table.rowAt('claude-haiku-4-5-20251001', AT)!.rates.input).toBe(2_000_000_000n);
  });

  it.each([
    [{ model: '', line: 'opus' }, 'cost.prices[0].model'],
    [{ model: 'x', line: 'gpt' }, 'cost.prices[0].line'],
    [{ model: 'x', line: 'opus', rates: { input: '-1', output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices[0].rates.input'],
    [{ model: 'x', line: 'opus', rates: { input: '0.000001', output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices[0].rates.input'],
    [{ model: 'x', line: 'opus', rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1 } }, 'cost.prices[0].rates.cacheRead'],
    [{ model: 'x', line: 'opus', effectiveFrom: '2026-02-30', rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices[0].effectiveFrom'],
    [{ model: 'x', line: 'opus', tiers: [{ abovePromptTokens: -1 }], rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices[0].tiers[0].abovePromptTokens'],
    [{ model: 'x', line: 'opus', approximate: ['inputs'], rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices[0].approximate'],
    [{ model: 'x', line: 'opus', aliases: ['claude-opus-5'], rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }, 'cost.prices'],
  ])('rejects an invalid row %# with ConfigError naming %s', (row, option) => {
    let error: unknown;
    try {
      new PriceTable({ prices: [row as never] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe(option);
  });

  it('rejects two rows for the same model and date', () => {
    const row = { model: 'x', line: 'opus' as const, rates: { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } };
    expect(() => new PriceTable({ prices: [row, row] })).toThrow(ConfigError);
  });
});
