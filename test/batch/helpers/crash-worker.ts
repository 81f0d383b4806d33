/**
 * A process that sends five `batch: true` calls and dies (SIGKILL: no `close()`, no cleanup) as soon as
 * their batch is recorded in Redis. Env: BASE_URL, REDIS_URL, PREFIX.
 */
import { callOptions, ResilientClaude } from '../../../src/index';

const client = new ResilientClaude({
  apiKey: 'k',
  baseURL: process.env['BASE_URL']!,
  redis: process.env['REDIS_URL']!,
  redisPrefix: process.env['PREFIX']!,
  logger: false,
  batch: { maxDelayMs: 10, pollIntervalMs: 50, claimMs: 3_000 },
});
client.on('batchSubmitted', (event) => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
  if (event.persisted) process.kill(process.pid, 'SIGKILL');
});
for (let i = 0; i < 5; i++) {
  void client.messages
    .create(
      { model: 'claude-sonnet-4-6', max_tokens: 30, messages: [{ role: 'user', content: `Classify ticket ${i}` }], metadata: { user_id: 'team-a' } },
      callOptions({ batch: { ref: `ticket-${i}` }, tags: ['triage'] }),
    )
    .catch(() => undefined);
}
