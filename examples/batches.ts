// Message Batches without rewriting your code: `callOptions({ batch: true })` sends a messages.create call
// through the Message Batches API at half price, and the promise still resolves to the same `Message`.
//
// Run: npm run example -- batches
// Always offline, against the fake server: a real batch takes minutes to hours. Here the server runs on a
// compressed clock, so its "hour" of batch processing passes in about 36 ms.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { BadRequestError } from '@anthropic-ai/sdk';
import { callOptions, ResilientClaude } from '../src/index';
import { compressedClock, FakeAnthropicServer } from '../src/testing/index';

const HOUR_MS = 3_600_000;

async function main(): Promise<void> {
  const server = await FakeAnthropicServer.start({
    clock: compressedClock(100_000), // 100,000 server ms per real ms
    batches: {
      processingMs: HOUR_MS, // every batch takes an hour on the server's clock
      // One request of the batch fails on its own, as the API can fail one request while the others succeed.
      itemResult: ({ params }) =>
        JSON.stringify(params).includes('ticket 13') ? { error: { type: 'invalid_request_error', message: 'prompt is too long' } } : undefined,
    },
  });
  // The client checks its batches on the real clock (after 1 s, then 2 s, 4 s… up to a minute): 1 s is
  // plenty for the fake server's compressed hour.
  const client = new ResilientClaude({ baseURL: server.url, apiKey: 'fake-key', logger: false });

  client.on('batchSubmitted', (e) => console.log(`batchSubmitted: ${e.batchId} with ${e.calls} calls`));
  client.on('batchEnded', (e) => console.log(`batchEnded: ${e.batchId} after ${e.durationMs} ms,`, e.counts));

  // 50 ordinary calls, issued together: the client gathers them into one batch (calls made within
  // `batch.maxDelayMs`, 500 ms by default, travel together). Tags label them in the cost ledger.
  const ask = (i: number) =>
    client.messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: `Classify support ticket ${i}.` }] },
      callOptions({ batch: true, tags: ['ticket-triage'] }),
    );

  try {
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => ask(i)));
    const answered = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    console.log(`${answered.length} of 50 answered in ${Math.round(performance.now() - started)} ms of real time`);
    const first = answered[0]!;
    const text = first.content.map((block) => (block.type === 'text' ? block.text : '')).join('').trim();
    console.log(`  each one a plain Message: "${text}" (usage.service_tier: ${first.usage.service_tier})`);

    // A request the batch answered with an error rejects with the SDK's own typed error, exactly as the
    // same call made directly would: the handling code you already have keeps working.
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (!(r.reason instanceof BadRequestError)) throw r.reason;
      console.log(`  one call failed with ${r.reason.constructor.name} (${r.reason.status}): ${r.reason.message}`);
    }

    // What the server saw: one batch, no request to /v1/messages.
    const [batch] = server.batchesCreated();
    const direct = server.ledger.filter((r) => r.path === '/v1/messages').length;
    console.log(`server: ${server.batchesCreated().length} batch of ${batch?.customIds.length} requests, ${direct} requests to /v1/messages`);

    // The ledger prices batched calls at the batch rate and keeps what that saved against standard prices.
    const summary = client.costs!.summary();
    const tag = summary.byTag['ticket-triage'];
    console.log(`cost: $${summary.totalUsd.toFixed(6)} for ${summary.requests} calls; saved $${summary.savedUsd.toFixed(6)}`);
    console.log(`  (standard price would have been $${(summary.totalUsd + summary.savedUsd).toFixed(6)}; tag ticket-triage saved $${tag?.savedUsd.toFixed(6)})`);
  } finally {
    // Releases timers and connections. A batch still running would be cancelled here (kept, with `redis`).
    await client.close();
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
