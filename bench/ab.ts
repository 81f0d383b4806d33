/**
 * `npx tsx bench/ab.ts <other checkout> [create|stream]`: client CPU per call of this checkout's
 * ResilientClaude against another checkout's (e.g. `git worktree add /tmp/base <rev>`, sharing this
 * node_modules), and the raw SDK, on the in-process transport of `client-cpu.ts`, in one process, rounds
 * in random order (`cpuPerCall`). For judging a change to the hot path: loopback figures are too noisy for it here.
 */
import Anthropic from '@anthropic-ai/sdk';
import { join, resolve } from 'node:path';
import { ResilientClaude } from '../src/client';
import { cpuPerCall, recordResponses, replayingFetch } from './client-cpu';
import { startServerProcess } from './harness';

const params = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Benchmark me, please.' }] };

async function main(): Promise<void> {
  const [other, mode = 'create'] = process.argv.slice(2);
  if (!other || (mode !== 'create' && mode !== 'stream')) throw new Error('usage: npx tsx bench/ab.ts <other checkout> [create|stream]');
  const { ResilientClaude: Other } = (await import(join(resolve(other), 'src/client.ts'))) as { ResilientClaude: typeof ResilientClaude };
  const server = await startServerProcess({ outputTokens: 20, rateLimits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 } });
  const recorded = (await recordResponses(server.url, params))[mode];
  await server.stop();
  const options = { apiKey: 'bench-key', baseURL: 'http://127.0.0.1:9', fetch: replayingFetch(recorded) };
  const clients: Record<string, Anthropic> = { raw: new Anthropic(options), other: new Other(options), this: new ResilientClaude(options) };
  const call = async (client: Anthropic) => {
    if (mode === 'create') return client.messages.create(params);
    for await (const event of await client.messages.create({ ...params, stream: true })) void event;
  };
  const cpu = await cpuPerCall(clients, call, { rounds: Number(process.env.ROUNDS ?? 30), perRound: 500, warmUp: 3000 });
  for (const name of Object.keys(clients)) {
    const value = cpu[name]!;
    console.log(`${name.padEnd(6)} ${value.toFixed(1).padStart(7)} µs CPU per ${mode}  (+${(value - cpu['raw']!).toFixed(1)} µs over the raw SDK)`);
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
