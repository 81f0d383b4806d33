import { ResilientClaude } from '../src/client';

/**
 * `npm run demo -- --live`: three tiny real calls through ResilientClaude with zero configuration
 * (ANTHROPIC_API_KEY from the environment). Cost: three calls of at most 20 output tokens on
 * claude-haiku-4-5 — well under one cent.
 */
export async function runLive(): Promise<void> {
  if (!process.env.ANTHROPIC_API_KEY) {
    console.error('--live needs ANTHROPIC_API_KEY in the environment. Without it, `npm run demo` runs offline.');
    process.exitCode = 1;
    return;
  }
  console.log('Live mode: 3 real calls on claude-haiku-4-5, max 20 output tokens each (well under $0.01).\n');
  const client = new ResilientClaude({ logger: { level: 'info' } });
  client.on('callComplete', (r) => console.log(`  ${r.ok ? 'ok' : 'failed'} ${r.model} in ${r.latencyMs.toFixed(0)} ms, ${r.attempts} attempt(s), $${(r.costUsd ?? 0).toFixed(6)}`));
  const prompts = ['Say hello in five words.', 'Name one prime number.', 'What is 2 + 2?'];
  for (const [i, content] of prompts.entries()) {
    const params = { model: 'claude-haiku-4-5', max_tokens: 20, metadata: { user_id: 'demo' }, messages: [{ role: 'user' as const, content }] };
    if (i === 1) {
      const text = await client.messages.stream(params).finalText();
      console.log(`  → ${text}`);
    } else {
      const message = await client.messages.create(params);
      console.log(`  → ${message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')}`);
    }
  }
  console.log(`\nTotal: $${client.costs!.total().toFixed(6)}`);
  await client.close();
}
