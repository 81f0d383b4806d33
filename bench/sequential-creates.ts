/**
 * `V=raw|defaults|off N=3000 npx tsx bench/sequential-creates.ts`: N sequential creates against the fake
 * server in a child process, and nothing else, for tools that watch one process whole. Under
 * `valgrind --tool=callgrind [--cache-sim=yes] node --import tsx bench/sequential-creates.ts`, two values
 * of N give instructions (and cache misses) per call in steady state: (count(N2) − count(N1)) / (N2 − N1).
 */
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src/client';
import { startServerProcess } from './harness';

const params = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Benchmark me, please.' }] };
const OFF = { metrics: false, cost: false, rateLimit: false, maxRetries: 0, sanitize: false, circuitBreaker: false, logger: false } as const;

async function main(): Promise<void> {
  const server = await startServerProcess({ outputTokens: 20, rateLimits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 } });
  const options = { apiKey: 'bench-key', baseURL: server.url };
  const variant = process.env['V'] ?? 'defaults';
  const client = variant === 'raw' ? new Anthropic(options) : new ResilientClaude(variant === 'off' ? { ...options, ...OFF } : options);
  const calls = Number(process.env['N'] ?? 3000);
  for (let i = 0; i < calls; i++) await client.messages.create(params);
  await server.stop();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
