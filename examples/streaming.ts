// Streaming: a stream that fails before its first token is retried transparently; one that dies
// mid-way raises StreamInterruptedError — never a silently shortened "success".
//
// Run: npm run example -- streaming
// Offline by default (fake server with injected stream faults). With ANTHROPIC_API_KEY set it makes
// ONE real streamed call (claude-haiku-4-5, max_tokens 50, no faults): well under $0.001.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { ResilientClaude, StreamInterruptedError } from '../src/index';
import { FakeAnthropicServer, faults } from '../src/testing/index';

const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: 'Count from one to ten in words.' }],
};

/** Streams one answer with the SDK's own `messages.stream()` helper, printing text as it arrives. */
async function streamOnce(client: ResilientClaude, label: string): Promise<void> {
  process.stdout.write(`${label}: `);
  const stream = client.messages.stream(params).on('text', (delta) => process.stdout.write(delta));
  try {
    const message = await stream.finalMessage();
    console.log(`\n  -> complete: stop_reason=${message.stop_reason}, ${message.usage.output_tokens} output tokens`);
  } catch (error) {
    if (!(error instanceof StreamInterruptedError)) throw error;
    // The text printed above is all there is. Decide: retry the whole call, show a partial answer, ...
    console.log(`\n  -> StreamInterruptedError (${error.kind}) after ${error.deltasReceived} deltas: ${error.message}`);
  }
}

async function main(): Promise<void> {
  const server = process.env.ANTHROPIC_API_KEY ? undefined : await FakeAnthropicServer.start({ latency: { perDeltaMs: 15 } });
  // logger: false only keeps JSON log lines out of the streamed text (default: warn level, on stdout).
  const client = server
    ? new ResilientClaude({ baseURL: server.url, apiKey: 'fake-key', logger: false })
    : new ResilientClaude({ logger: false });
  client.on('retry', (e) => console.log(`  [retry: attempt ${e.attempt} failed (${e.reason}), retrying]`));

  try {
    if (!server) {
      await streamOnce(client, 'live stream');
      return;
    }
    // 1. An SSE `error` event (overloaded) before any content: nothing reached the caller yet, so the
    //    client retries and the caller sees one clean, complete stream.
    server.schedule(faults.sseError(0, 'overloaded_error'));
    await streamOnce(client, '1. fails before the first token');

    // 2. The connection is cut after 3 deltas. Retrying would duplicate text the caller already has,
    //    so the stream fails with StreamInterruptedError (an APIConnectionError subclass).
    server.schedule(faults.cutStream(3));
    await streamOnce(client, '2. dies mid-way');

    const { requests, servedResponses } = server.stats();
    console.log(`server: ${requests} requests, ${servedResponses} complete stream(s) served`);
    // Only the complete stream was billed by the cost ledger.
    console.log(`ledger: ${client.costs!.summary().requests} priced call(s)`);
  } finally {
    await client.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
