// Basic drop-in use: `new Anthropic()` becomes `new ResilientClaude()`, and a call survives 529s.
//
// Run: npm run example -- basic
// Offline by default, against the fake server in `resilient-claude/testing`.
// With ANTHROPIC_API_KEY set it makes ONE real call (claude-haiku-4-5, max_tokens 50): well under $0.001.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { ResilientClaude, type CallRecord } from '../src/index';
import { FakeAnthropicServer, faults } from '../src/testing/index';

async function main(): Promise<void> {
  const live = Boolean(process.env.ANTHROPIC_API_KEY);

  // Offline: a local fake Anthropic API that answers the next two calls with 529 "overloaded".
  const server = live ? undefined : await FakeAnthropicServer.start();
  server?.schedule(faults.overloaded(), faults.overloaded());

  // Before: const client = new Anthropic();
  // After:  the same constructor, the same options, the same methods and types.
  const client = server
    ? new ResilientClaude({ baseURL: server.url, apiKey: 'fake-key' }) // only needed for the fake server
    : new ResilientClaude(); // reads ANTHROPIC_API_KEY like the SDK does

  // Events. By default the same facts also go to stdout as JSON log lines (pino, level 'warn': retries,
  // breaker changes; 'info' adds one line per call). Pass `logger: false` or your own pino logger.
  // `callComplete` is the one record of each logical call: attempts, status, latency, tokens, cost.
  client.on('retry', (e) => console.log(`  retry: attempt ${e.attempt} got ${e.status ?? e.reason}, next in ${e.delayMs} ms`));
  client.on('callComplete', (record: CallRecord) => {
    const { ok, attempts, status, latencyMs, tokens, costUsd } = record;
    console.log('  callComplete:', { ok, attempts, status, latencyMs: Math.round(latencyMs), tokens, costUsd });
  });

  try {
    const message = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Say hello in five words.' }],
    });
    const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    console.log(`answer (${message.usage.output_tokens} tokens): ${text}`);
    if (server) console.log(`the server saw ${server.stats().requests} requests for 1 call (two 529s, then a 200)`);

    // The cost ledger: every priced call, by model, user and tag.
    const summary = client.costs!.summary();
    console.log(`costs: ${summary.requests} call(s), $${summary.exactUsd}, by model:`, Object.keys(summary.byModel));
  } finally {
    // Releases timers and connections so the process exits promptly.
    await client.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
