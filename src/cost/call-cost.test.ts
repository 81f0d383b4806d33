import type Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callCost, worstCaseCost, type CallCost } from './call-cost';
import { CostLedger } from './ledger';
import { parseExactUsd } from './money';
import { PriceTable } from './price-table';
import { mergeStreamUsage, tokenCounts, type UsageLike } from './usage';

const table = new PriceTable();
/** 2026-11-27T00:00Z: "now" for fixtures that do not test dates. */
const AT = Date.UTC(2026, 10, 27);

/** A full SDK `Usage` with everything else null/zero. */
function usage(u: Partial<Anthropic.Usage>): Anthropic.Usage {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: null,
    cache_creation: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
    inference_geo: null,
    output_tokens_details: null,
    ...u,
  };
}

function cost(model: string, u: UsageLike, extra: { at?: number; batch?: boolean; stopReason?: string } = {}): CallCost {
  return callCost(table, { model, usage: u, at: extra.at ?? AT, batch: extra.batch, stopReason: extra.stopReason });
}

describe('callCost: hand-computed fixtures (USD, exact)', () => {
  it('plain input/output, dated id normalized to its alias', () => {
    // claude-sonnet-4-5 $3 / $15 per MTok: 1000×3/1e6 = 0.003; 500×15/1e6 = 0.0075 → 0.0105
    const c = cost('claude-sonnet-4-5-20250929', usage({ input_tokens: 1000, output_tokens: 500 }));
    expect(c.exact).toBe('0.0105');
    expect(c.usd).toBe(0.0105);
    expect(c.breakdownExact.input).toBe('0.003');
    expect(c.breakdownExact.output).toBe('0.0075');
    expect(c.pricedModel).toBe('claude-sonnet-4-5');
    expect(c.approximate).toBe(false);
    expect(c.unknownModel).toBe(false);
  });

  it('cache read at the model read rate', () => {
    // claude-haiku-4-5 in $1, read $0.10, out $5: 200×1 = 0.0002; 10000×0.10 = 0.001; 300×5 = 0.0015 → 0.0027
    const c = cost('claude-haiku-4-5', usage({ input_tokens: 200, cache_read_input_tokens: 10_000, output_tokens: 300 }));
    expect(c.exact).toBe('0.0027');
    expect(c.breakdownExact.cacheRead).toBe('0.001');
  });

  it('5-minute and 1-hour cache writes priced separately', () => {
    // claude-opus-4-8: in $5, 5m $6.25, 1h $10, out $25
    // 100×5 = 0.0005; 2000×6.25 = 0.0125; 1000×10 = 0.01; 50×25 = 0.00125 → 0.02425
    const c = cost(
      'claude-opus-4-8',
      usage({
        input_tokens: 100,
        output_tokens: 50,
        cache_creation_input_tokens: 3000,
        cache_creation: { ephemeral_5m_input_tokens: 2000, ephemeral_1h_input_tokens: 1000 },
      }),
    );
    expect(c.exact).toBe('0.02425');
    expect(c.breakdownExact.cacheWrite5m).toBe('0.0125');
    expect(c.breakdownExact.cacheWrite1h).toBe('0.01');
  });

  it('a null TTL split prices all writes as 5-minute', () => {
    // claude-opus-4-8: 100×5 = 0.0005; 3000×6.25 = 0.01875; 50×25 = 0.00125 → 0.0205
    const c = cost('claude-opus-4-8', usage({ input_tokens: 100, output_tokens: 50, cache_creation_input_tokens: 3000 }));
    expect(c.exact).toBe('0.0205');
    expect(c.breakdownExact.cacheWrite1h).toBe('0');
  });

  it('batch: 50% off every token category', () => {
    // claude-sonnet-5 in $2, out $10, read $0.20, 5m $2.50, all ×0.5:
    // 10000×2×0.5 = 0.01; 2000×10×0.5 = 0.01; 4000×0.2×0.5 = 0.0004; 1000×2.5×0.5 = 0.00125 → 0.02165
    const u = usage({
      input_tokens: 10_000,
      output_tokens: 2000,
      cache_read_input_tokens: 4000,
      cache_creation_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
      service_tier: 'batch',
    });
    const c = cost('claude-sonnet-5', u);
    expect(c.exact).toBe('0.02165');
    expect(c.flags).toContain('batch');
    // Forcing batch on a usage without service_tier gives the same price.
    expect(cost('claude-sonnet-5', { ...u, service_tier: null }, { batch: true }).exact).toBe('0.02165');
  });

  it('inference_geo "us": 1.1× on Claude 4.6+, not on older models', () => {
    // claude-opus-4-6 (row from 2026-03-13): 1000×5×1.1 = 0.0055; 1000×25×1.1 = 0.0275 → 0.033
    const u = usage({ input_tokens: 1000, output_tokens: 1000, inference_geo: 'us' });
    const c = cost('claude-opus-4-6', u);
    expect(c.exact).toBe('0.033');
    expect(c.flags).toContain('geo-us');
    // claude-opus-4-5 has no data residency: 1000×5 = 0.005; 1000×25 = 0.025 → 0.03
    const old = cost('claude-opus-4-5-20251101', u);
    expect(old.exact).toBe('0.03');
    expect(old.flags).toContain('geo-us-not-applicable');
    // "global" costs 1.0×.
    expect(cost('claude-opus-4-6', { ...u, inference_geo: 'global' }).exact).toBe('0.03');
  });

  it('geo, fast and batch stack in the documented order (all integer fUSD)', () => {
    // claude-opus-5-5 fast card $8 / $40, read $0.40; ×1.1 (us) ×0.5 (batch) = ×0.55
    // 1000×8×0.55 = 0.0044; 500×40×0.55 = 0.011; 3333×0.40×0.55 = 0.00073326 → 0.01613326
    const c = cost(
      'claude-opus-5-5',
      usage({ input_tokens: 1000, output_tokens: 500, cache_read_input_tokens: 3333, speed: 'fast', inference_geo: 'us', service_tier: 'batch' }),
    );
    expect(c.exact).toBe('0.01613326');
  });

  it('fast mode uses the fast card, with the model cache multipliers on top', () => {
    // claude-opus-5-5 fast: in $8, out $40, read $0.40 (8 × 0.05):
    // 1000×8 = 0.008; 1000×40 = 0.04; 10000×0.40 = 0.004 → 0.052
    const c = cost('claude-opus-5-5', usage({ input_tokens: 1000, output_tokens: 1000, cache_read_input_tokens: 10_000, speed: 'fast' }));
    expect(c.exact).toBe('0.052');
    expect(c.flags).toContain('fast');
    expect(c.approximate).toBe(false);
    // Priced from the response's speed: Opus 4.6 asked for fast but ran standard → standard rates.
    // 1000×5 = 0.005; 1000×25 = 0.025 → 0.03
    expect(cost('claude-opus-4-6', usage({ input_tokens: 1000, output_tokens: 1000, speed: 'standard' })).exact).toBe('0.03');
  });

  it('fast mode without a published first-party card: 2× estimate, approximate', () => {
    // claude-fable-5-2 fast n/f → 2× standard: 1000×16 = 0.016; 100×80 = 0.008 → 0.024
    const c = cost('claude-fable-5-2', usage({ input_tokens: 1000, output_tokens: 100, speed: 'fast' }));
    expect(c.exact).toBe('0.024');
    expect(c.approximate).toBe(true);
    expect(c.flags).toContain('fast-rate-estimated');
  });

  it('server tools: web search $0.01 each (no batch discount), web fetch free', () => {
    // claude-sonnet-4-6: 5000×3 = 0.015; 1000×15 = 0.015; 3 searches × 0.01 = 0.03 → 0.06
    const u = usage({
      input_tokens: 5000,
      output_tokens: 1000,
      server_tool_use: { web_search_requests: 3, web_fetch_requests: 2 },
    });
    const c = cost('claude-sonnet-4-6', u);
    expect(c.exact).toBe('0.06');
    expect(c.breakdownExact.webSearch).toBe('0.03');
    expect(c.breakdownExact.webFetch).toBe('0');
    // batch halves tokens only: 0.0075 + 0.0075 + 0.03 → 0.045
    expect(cost('claude-sonnet-4-6', { ...u, service_tier: 'batch' }).exact).toBe('0.045');
  });

  it('Haiku 5.5 prompt-length tier: over 100,000 prompt tokens → the higher row for every category', () => {
    // prompt = 60000 + 40000 = 100000 (not over): 60000×0.10 = 0.006; 40000×0.01 = 0.0004; 1000×0.50 = 0.0005 → 0.0069
    const at = usage({ input_tokens: 60_000, cache_read_input_tokens: 40_000, output_tokens: 1000 });
    const below = cost('claude-haiku-5-5', at);
    expect(below.exact).toBe('0.0069');
    expect(below.flags).not.toContain('prompt-tier');
    // prompt = 100001: 60001×0.50 = 0.0300005; 40000×0.05 = 0.002; 1000×2.50 = 0.0025 → 0.0345005
    const over = cost('claude-haiku-5-5', { ...at, input_tokens: 60_001 });
    expect(over.exact).toBe('0.0345005');
    expect(over.flags).toContain('prompt-tier');
    // Cache writes count toward the prompt too: 1 + 100000 written (5m, $0.625 in the tier):
    // 1×0.50 = 0.0000005; 100000×0.625 = 0.0625 → 0.0625005
    expect(cost('claude-haiku-5-5', usage({ input_tokens: 1, cache_creation_input_tokens: 100_000 })).exact).toBe('0.0625005');
  });

  it('Opus 4.6 >200K surcharge applies only before 2026-03-13', () => {
    // prompt 150000 + 60000 read = 210000 > 200K on 2026-03-12: 150000×10 = 1.5; 60000×1.00 = 0.06; 1000×37.50 = 0.0375 → 1.5975
    const u = usage({ input_tokens: 150_000, cache_read_input_tokens: 60_000, output_tokens: 1000 });
    expect(cost('claude-opus-4-6', u, { at: Date.UTC(2026, 2, 12, 23, 59) }).exact).toBe('1.5975');
    // from 2026-03-13: 150000×5 = 0.75; 60000×0.50 = 0.03; 1000×25 = 0.025 → 0.805
    expect(cost('claude-opus-4-6', u, { at: Date.UTC(2026, 2, 13) }).exact).toBe('0.805');
  });

  it('Sonnet 5.5 cache read: $0.20 until 2026-10-06, $0.10 from 2026-10-07', () => {
    // 1,000,000 reads × $0.20 = 0.2 ; × $0.10 = 0.1
    const u = usage({ cache_read_input_tokens: 1_000_000 });
    expect(cost('claude-sonnet-5-5', u, { at: Date.UTC(2026, 9, 6, 23, 59, 59, 999) }).exact).toBe('0.2');
    expect(cost('claude-sonnet-5-5', u, { at: Date.UTC(2026, 9, 7) }).exact).toBe('0.1');
    // Before the first row (launch 2026-09-28) the earliest row applies.
    expect(cost('claude-sonnet-5-5', u, { at: Date.UTC(2026, 0, 1) }).exact).toBe('0.2');
  });

  it('stream-accumulated usage: message_start fields kept, message_delta totals replace (never add)', () => {
    const start = usage({
      input_tokens: 2000,
      output_tokens: 1, // placeholder in message_start
      cache_creation_input_tokens: 4000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 4000 },
      inference_geo: 'us',
    });
    const delta: Anthropic.MessageDeltaUsage = {
      output_tokens: 800,
      input_tokens: null,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      output_tokens_details: null,
      server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 },
    };
    const merged = mergeStreamUsage(start, delta);
    expect(merged.output_tokens).toBe(800);
    // claude-sonnet-5-5, geo us ×1.1: 2000×2×1.1 = 0.0044; 800×10×1.1 = 0.0088; 4000 (1h)×4×1.1 = 0.0176;
    // 1 search = 0.01 → 0.0408
    expect(cost('claude-sonnet-5-5', merged).exact).toBe('0.0408');
  });

  it('BetaUsage compaction iterations are added at their model; other entries are not', () => {
    const beta: Anthropic.Beta.BetaUsage = {
      input_tokens: 500,
      output_tokens: 200,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: null,
      server_tool_use: null,
      service_tier: 'standard',
      speed: null,
      inference_geo: null,
      output_tokens_details: null,
      fallback_credit: null,
      iterations: [
        { type: 'compaction', input_tokens: 150_000, output_tokens: 3000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation: null },
        { type: 'message', model: null, input_tokens: 500, output_tokens: 200, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation: null },
      ],
    };
    // claude-opus-5: top 500×5 = 0.0025; 200×25 = 0.005; compaction 150000×5 = 0.75; 3000×25 = 0.075 → 0.8325
    const c = cost('claude-opus-5', beta);
    expect(c.exact).toBe('0.8325');
    expect(c.flags).toContain('compaction');
    expect(tokenCounts(beta)).toEqual({ inputTokens: 150_500, outputTokens: 3200, cacheReadTokens: 0, cacheWriteTokens: 0 });
    // A compaction entry that names its model is priced there (claude-haiku-4-5: 150000×1 = 0.15; 3000×5 = 0.015):
    // 0.0075 + 0.165 → 0.1725
    const withModel = { ...beta, iterations: [{ type: 'compaction', model: 'claude-haiku-4-5', input_tokens: 150_000, output_tokens: 3000 }] };
    expect(cost('claude-opus-5', withModel).exact).toBe('0.1725');
  });

  it('unknown model: newest of its line, standard cache multipliers, approximate, never zero', () => {
    // claude-sonnet-7 → claude-sonnet-5-5 in $2 / out $10; cache derived 2×1.25 = 2.5, 2×2 = 4, 2×0.1 = 0.2:
    // 1000×2 = 0.002; 1000×10 = 0.01; 10000×0.2 = 0.002; 1000×2.5 = 0.0025; 1000×4 = 0.004 → 0.0205
    const c = cost(
      'claude-sonnet-7',
      usage({
        input_tokens: 1000,
        output_tokens: 1000,
        cache_read_input_tokens: 10_000,
        cache_creation_input_tokens: 2000,
        cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 1000 },
      }),
    );
    expect(c.exact).toBe('0.0205');
    expect(c).toMatchObject({ approximate: true, unknownModel: true, pricedModel: 'claude-sonnet-5-5' });
    // A line that cannot be told: the priciest newest-of-line card (Fable 5.2, $8 / $40): 1000×8 + 1000×40 → 0.048
    const odd = cost('some-new-model', usage({ input_tokens: 1000, output_tokens: 1000 }));
    expect(odd.exact).toBe('0.048');
    expect(odd).toMatchObject({ approximate: true, unknownModel: true, pricedModel: 'claude-fable-5-2' });
  });

  it('no sibling inheritance by prefix: claude-fable-5-1 reads at $0.25, not claude-fable-5 $1.00', () => {
    // 1,000,000 reads × 0.25 = 0.25
    expect(cost('claude-fable-5-1', usage({ cache_read_input_tokens: 1_000_000 })).exact).toBe('0.25');
    expect(cost('claude-fable-5', usage({ cache_read_input_tokens: 1_000_000 })).exact).toBe('1');
  });

  it('a refusal before any output is $0 only on Fable (and only with zero output)', () => {
    const u = usage({ input_tokens: 5000, output_tokens: 0 });
    const refused = cost('claude-fable-5', u, { stopReason: 'refusal' });
    expect(refused.exact).toBe('0');
    expect(refused.flags).toEqual(['unbilled-refusal']);
    // 5000×10 + 1×50 → 0.05005 (output was produced: billed)
    expect(cost('claude-fable-5', { ...u, output_tokens: 1 }, { stopReason: 'refusal' }).exact).toBe('0.05005');
    // Opus refusals are billed: 5000×5 → 0.025
    expect(cost('claude-opus-5', u, { stopReason: 'refusal' }).exact).toBe('0.025');
  });

  it('priority tier is priced at list rates and flagged; a redeemed fallback credit is approximate', () => {
    const c = cost('claude-sonnet-4-6', usage({ input_tokens: 1000, service_tier: 'priority' }));
    expect(c.exact).toBe('0.003');
    expect(c.flags).toContain('priority-tier');
    const f = cost('claude-sonnet-4-6', { input_tokens: 1000, fallback_credit: { status: { type: 'redeemed' } } });
    expect(f.approximate).toBe(true);
    expect(f.flags).toContain('fallback-credit-redeemed');
  });

  it('third-party (‡) cache rates make only calls that use them approximate', () => {
    // claude-fable-5-2 in/out official: 1000×8 + 1000×40 → 0.048, exact
    expect(cost('claude-fable-5-2', usage({ input_tokens: 1000, output_tokens: 1000 })).approximate).toBe(false);
    const c = cost('claude-fable-5-2', usage({ cache_read_input_tokens: 1000 }));
    expect(c.approximate).toBe(true);
    expect(c.flags).toContain('third-party-rates');
  });

  it('odd usage never throws: missing, negative and NaN counts are 0', () => {
    const c = cost('claude-haiku-4-5', { input_tokens: -5, output_tokens: Number.NaN, cache_read_input_tokens: undefined });
    expect(c.exact).toBe('0');
  });
});

describe('worstCaseCost', () => {
  it('prices the whole prompt as uncached input and max_tokens as output', () => {
    // claude-sonnet-4-6: 10000×3 = 0.03; 4096×15 = 0.06144 → 0.09144
    expect(worstCaseCost(table, { model: 'claude-sonnet-4-6', inputTokens: 10_000, maxTokens: 4096, at: AT }).exact).toBe('0.09144');
  });

  it('applies the Haiku 5.5 tier, speed, geo and batch, and cache-write TTLs on request', () => {
    // 150000 > 100000 → tier: 150000×0.50 = 0.075; 1000×2.50 = 0.0025 → 0.0775
    expect(worstCaseCost(table, { model: 'claude-haiku-5-5', inputTokens: 150_000, maxTokens: 1000, at: AT }).exact).toBe('0.0775');
    // claude-opus-5 fast + us: 1000×10×1.1 = 0.011; 1000×50×1.1 = 0.055 → 0.066
    expect(
      worstCaseCost(table, { model: 'claude-opus-5', inputTokens: 1000, maxTokens: 1000, at: AT, speed: 'fast', inferenceGeo: 'us' }).exact,
    ).toBe('0.066');
    // 1h cache write on claude-opus-5: 1000×10 = 0.01; 1000×25 = 0.025 → 0.035; + 2 searches 0.02 → 0.055
    expect(
      worstCaseCost(table, { model: 'claude-opus-5', inputTokens: 1000, maxTokens: 1000, at: AT, cacheWriteTtl: '1h', webSearches: 2 }).exact,
    ).toBe('0.055');
    // batch: half of 0.09144 → 0.04572
    expect(worstCaseCost(table, { model: 'claude-sonnet-4-6', inputTokens: 10_000, maxTokens: 4096, at: AT, batch: true }).exact).toBe('0.04572');
  });

  it('is an upper bound of the actual cost for the same prompt split any way between input and cache reads', () => {
    fc.assert(
      fc.property(fc.nat(200_000), fc.nat(200_000), fc.nat(8192), (prompt, readShare, out) => {
        const read = Math.min(readShare, prompt);
        const actual = cost('claude-sonnet-4-5', usage({ input_tokens: prompt - read, cache_read_input_tokens: read, output_tokens: out }));
        const worst = worstCaseCost(table, { model: 'claude-sonnet-4-5', inputTokens: prompt, maxTokens: 8192, at: AT });
        return parseExactUsd(actual.exact) <= parseExactUsd(worst.exact);
      }),
    );
  });
});

describe('exact arithmetic', () => {
  it('the sum of 100,000 calls equals the exact product (no float drift)', () => {
    // claude-haiku-5-5: 333×0.10 = 0.0000333; 77×0.50 = 0.0000385; 1234×0.01 = 0.00001234 → 0.00008414 per call
    const one = cost('claude-haiku-5-5', usage({ input_tokens: 333, output_tokens: 77, cache_read_input_tokens: 1234 }));
    expect(one.exact).toBe('0.00008414');
    const ledger = new CostLedger({ now: () => AT });
    let floatSum = 0;
    for (let i = 0; i < 100_000; i++) {
      ledger.record({ at: AT, model: 'claude-haiku-5-5', cost: one });
      floatSum += one.usd;
    }
    const s = ledger.summary();
    // 0.00008414 × 100000 = 8.414 exactly
    expect(s.exactUsd).toBe('8.414');
    expect(s.totalUsd).toBe(8.414);
    expect(s.requests).toBe(100_000);
    // (The naive float running sum is what the BigInt unit avoids.)
    expect(Math.abs(floatSum - 8.414)).toBeGreaterThan(0);
  });

  it('cost is additive in tokens (property): price(a) + price(b) = price(a + b), exactly', () => {
    const models = ['claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-4-5', 'claude-fable-5-1', 'claude-3-haiku-20240307'];
    const counts = fc.record({ input: fc.nat(50_000), output: fc.nat(50_000), read: fc.nat(50_000), w5: fc.nat(50_000), w1: fc.nat(50_000) });
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        counts,
        counts,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (model, a, b, geo, batch, fast) => {
          const mk = (c: typeof a): UsageLike =>
            usage({
              input_tokens: c.input,
              output_tokens: c.output,
              cache_read_input_tokens: c.read,
              cache_creation_input_tokens: c.w5 + c.w1,
              cache_creation: { ephemeral_5m_input_tokens: c.w5, ephemeral_1h_input_tokens: c.w1 },
              inference_geo: geo ? 'us' : 'global',
              service_tier: batch ? 'batch' : 'standard',
              speed: fast ? 'fast' : 'standard',
            });
          const sum = {
            input: a.input + b.input,
            output: a.output + b.output,
            read: a.read + b.read,
            w5: a.w5 + b.w5,
            w1: a.w1 + b.w1,
          };
          const left = parseExactUsd(cost(model, mk(a)).exact) + parseExactUsd(cost(model, mk(b)).exact);
          return left === parseExactUsd(cost(model, mk(sum)).exact);
        },
      ),
    );
  });
});
