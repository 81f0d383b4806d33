/**
 * `npx tsx bench/layer-costs.ts`: client CPU per sequential `create`, for the raw SDK and for
 * ResilientClaude with each feature switched off in turn, in alternating rounds within one process (CPU
 * time is steadier than wall time on a shared machine). Where the per-call overhead goes, by feature.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src/client';
import { median, startServerProcess } from './harness';

const params = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Benchmark me, please.' }] };
async function main(): Promise<void> {
  const server = await startServerProcess({ outputTokens: 20, rateLimits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 } });
  const base = { apiKey: 'k', baseURL: server.url };
  const variants: [string, Anthropic][] = [
    ['raw', new Anthropic(base)],
    ['defaults', new ResilientClaude(base)],
    ['metrics:false', new ResilientClaude({ ...base, metrics: false })],
    ['cost:false', new ResilientClaude({ ...base, cost: false })],
    ['rateLimit:false', new ResilientClaude({ ...base, rateLimit: false })],
    ['maxRetries:0', new ResilientClaude({ ...base, maxRetries: 0 })],
    ['sanitize:false', new ResilientClaude({ ...base, sanitize: false })],
    ['breaker:false', new ResilientClaude({ ...base, circuitBreaker: false })],
    ['all off', new ResilientClaude({ ...base, metrics: false, cost: false, rateLimit: false, maxRetries: 0, sanitize: false, circuitBreaker: false, logger: false })],
  ];
  const cpu: Record<string, number[]> = {};
  for (const [, c] of variants) for (let i = 0; i < 300; i++) await c.messages.create(params);
  for (let round = 0; round < 12; round++) {
    for (const [name, c] of round % 2 ? [...variants].reverse() : variants) {
      const t = process.cpuUsage();
      for (let i = 0; i < 200; i++) await c.messages.create(params);
      const u = process.cpuUsage(t);
      (cpu[name] ??= []).push((u.user + u.system) / 200);
    }
  }
  const raw = median(cpu['raw']!);
  for (const [name] of variants) console.log(name.padEnd(16), median(cpu[name]!).toFixed(0).padStart(5), 'µs CPU/call', `+${(median(cpu[name]!) - raw).toFixed(0)}`);
  await server.stop(); process.exit(0);
}
void main();
