// Custom prices: add a row for a model the built-in price table does not know (a fine-tune, a proxy
// alias, a model newer than your release) and override a known one (e.g. a negotiated rate).
//
// Run: npm run example -- custom-prices
// Offline by default. With ANTHROPIC_API_KEY set it makes ONE real call (claude-haiku-4-5,
// max_tokens 20) priced at the overridden rate: well under $0.001.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { callCost, PriceTable, ResilientClaude, type PriceRowInput } from '../src/index';
import { FakeAnthropicServer } from '../src/testing/index';

// Rates are USD per million tokens; decimal strings are exact. All five rates are required.
const prices: PriceRowInput[] = [
  {
    model: 'acme-distilled-1', // unknown to the built-in table
    line: 'haiku', // the family it belongs to
    rates: { input: '0.50', output: '2.50', cacheWrite5m: '0.625', cacheWrite1h: '1', cacheRead: '0.05' },
    source: 'ACME contract 2025-07',
  },
  {
    model: 'claude-haiku-4-5', // replaces the built-in rows of this id (and its dated ids)
    rates: { input: '0.80', output: '4', cacheWrite5m: '1', cacheWrite1h: '1.60', cacheRead: '0.08' },
    line: 'haiku',
    effectiveFrom: '2025-01-01', // rows are effective-dated: several rows keep a price history
    source: 'negotiated discount',
  },
];

async function main(): Promise<void> {
  const server = process.env.ANTHROPIC_API_KEY ? undefined : await FakeAnthropicServer.start();
  const options = { cost: { prices }, logger: false as const };
  const client = server ? new ResilientClaude({ ...options, baseURL: server.url, apiKey: 'fake-key' }) : new ResilientClaude(options);

  // Every priced call emits `cost`; a model with no row is priced by a documented fallback, marked
  // approximate, and reported once through `unknownModel` (and a log line) — never silently $0.
  client.on('cost', (c) => console.log(`  cost: ${c.model}: $${c.exactUsd}${c.approximate ? ' (approximate)' : ''}`));
  client.on('unknownModel', (u) => console.log(`  unknownModel: ${u.model} priced like ${u.pricedModel} (${u.fallback})`));

  const ask = (model: string) =>
    client.messages.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'Name a colour.' }] });

  try {
    const models = server ? ['acme-distilled-1', 'claude-haiku-4-5', 'acme-experimental-2'] : ['claude-haiku-4-5'];
    for (const model of models) {
      console.log(`${model}:`);
      const message = await ask(model);
      if (model === 'claude-haiku-4-5') {
        // The same usage at the built-in list price, with the exported pricing functions.
        const list = callCost(new PriceTable(), { model: message.model, usage: message.usage, at: Date.now() });
        console.log(`  (list price would be $${list.exact} for ${message.usage.input_tokens} in / ${message.usage.output_tokens} out)`);
      }
    }
    for (const [model, totals] of Object.entries(client.costs!.byModel())) {
      console.log(`ledger: ${model}: ${totals.requests} call(s), $${totals.exact}`);
    }
  } finally {
    await client.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
