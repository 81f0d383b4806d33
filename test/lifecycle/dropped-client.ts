/**
 * A script in the style of a user's: makes calls through a client given a Redis URL and a budget, never
 * calls `close()`, and ends. Spawned by lifecycle.test.ts, which checks that the process exits on its own
 * and that what it recorded (ledger, budget) reached Redis first.
 *
 * Environment: SERVER_URL, REDIS_URL, PREFIX, CALLS.
 */
import { ResilientClaude } from '../../src/client';

async function main(): Promise<void> {
  const client = new ResilientClaude({
    apiKey: 'lifecycle-key',
    baseURL: process.env['SERVER_URL']!,
    redis: process.env['REDIS_URL']!,
    redisPrefix: process.env['PREFIX']!,
    logger: false,
    cost: { budget: { limitUsd: 10, window: 'day' } },
  });
  const calls = Number(process.env['CALLS'] ?? 3);
  for (let i = 0; i < calls; i++) {
    await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: `call ${i}` }] });
  }
  console.log(JSON.stringify({ spentUsd: client.costs.total() }));
}

void main();
