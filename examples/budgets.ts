// Per-user budgets: each user (params.metadata.user_id) gets a spending limit per window. A call whose
// worst-case cost does not fit is refused with BudgetExceededError BEFORE anything is sent.
//
// Run: npm run example -- budgets
// Offline by default. With ANTHROPIC_API_KEY set it makes real calls (claude-haiku-4-5, max_tokens 50)
// until bob's $0.001 budget refuses one: at most $0.0015 in total.
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { BudgetExceededError, ResilientClaude, type ResilientClaudeOptions } from '../src/index';
import { FakeAnthropicServer } from '../src/testing/index';

async function main(): Promise<void> {
  const server = process.env.ANTHROPIC_API_KEY ? undefined : await FakeAnthropicServer.start();
  const options: ResilientClaudeOptions = {
    cost: {
      // $1 a day for everyone together, and at most $0.001 a day per user; warn at 50% of a limit.
      // (Tiny numbers so the example hits them; the window can also be 'month' or a length in ms.)
      budget: { limitUsd: 1, window: 'day', perUser: 0.001, warnAt: 0.5 },
    },
    logger: false, // only to keep this output short (default: warn-level JSON log lines on stdout)
  };
  const client = server ? new ResilientClaude({ ...options, baseURL: server.url, apiKey: 'fake-key' }) : new ResilientClaude(options);

  client.on('budgetWarning', (w) =>
    console.log(`  budgetWarning: ${w.scope} ${w.user ?? ''} spent $${w.spentUsd.toFixed(6)} of $${w.limitUsd} (warnAt ${w.warnAt})`),
  );

  const ask = (user: string) =>
    client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 50, // the worst case reserved against the budget is priced from max_tokens
      metadata: { user_id: user }, // the user the call is billed to
      messages: [{ role: 'user', content: 'List the planets of the solar system.' }],
    });

  try {
    // Bob calls until his budget refuses (bounded, in case prices change).
    for (let i = 1; i <= 20; i++) {
      const sentBefore = server?.stats().requests;
      try {
        const message = await ask('bob');
        console.log(`bob call ${i}: ok, ${message.usage.output_tokens} output tokens`);
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        // Everything a handler needs: which budget, the figures, when it resets.
        console.log(`bob call ${i}: BudgetExceededError (${error.scope}, user ${error.user}): ${error.message}`);
        console.log(`  needed $${error.requestedUsd.toFixed(6)}, spent $${error.spentUsd.toFixed(6)}, resets in ${Math.round(error.retryAfterMs / 60_000)} min`);
        if (server) console.log(`  requests the server received for it: ${server.stats().requests - sentBefore!}`);
        break;
      }
    }

    // Alice has a budget of her own: bob's refusal does not affect her.
    await ask('alice');
    console.log('alice: ok');

    for (const [user, spent] of Object.entries(client.costs!.byUser())) {
      console.log(`spend of ${user}: $${spent.exact} over ${spent.requests} call(s)`);
    }
    const bob = client.costs!.budget('bob')?.user;
    console.log(`bob's budget: spent $${bob?.spentUsd.toFixed(6)} of $${bob?.limitUsd}, remaining $${bob?.remainingUsd.toFixed(6)}`);
  } finally {
    await client.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
