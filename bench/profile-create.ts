/**
 * `npx tsx --cpu-prof --cpu-prof-dir=DIR bench/profile-create.ts [create|stream] [calls]`: sequential
 * calls through ResilientClaude (defaults) against the fake server in a child process, for a CPU
 * profile of the client's own work. Prints the median per call beside the raw SDK's; `PROFILE_ONLY=raw`
 * or `=ours` runs one client only, so that two profiles can be compared.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src/client';
import { median, startServerProcess } from './harness';

const mode = process.argv[2] === 'stream' ? 'stream' : 'create';
const calls = Number(process.argv[3] ?? 3000);
const params = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Benchmark me, please.' }] };

async function one(client: Anthropic): Promise<void> {
  if (mode === 'create') {
    await client.messages.create(params);
    return;
  }
  const stream = await client.messages.create({ ...params, stream: true });
  for await (const event of stream) void event;
}

async function main(): Promise<void> {
  const server = await startServerProcess({ outputTokens: 20, rateLimits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 } });
  const raw = new Anthropic({ apiKey: 'bench-key', baseURL: server.url });
  const ours = new ResilientClaude({ apiKey: 'bench-key', baseURL: server.url });
  const times: Record<'raw' | 'ours', number[]> = { raw: [], ours: [] };
  const only = process.env['PROFILE_ONLY'];
  for (const [name, client] of [['raw', raw], ['ours', ours]] as const) {
    if (only && only !== name) continue;
    for (let i = 0; i < 300; i++) await one(client);
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await one(client);
      times[name].push(performance.now() - t);
    }
  }
  if (only) {
    console.log(`${mode} (${only} only): ${(median(times[only as 'raw' | 'ours']) * 1000).toFixed(0)} µs per call`);
    await ours.close();
    await server.stop();
    return;
  }
  const [r, o] = [median(times.raw) * 1000, median(times.ours) * 1000];
  console.log(`${mode}: raw ${r.toFixed(0)} µs, ours ${o.toFixed(0)} µs, ratio ${(o / r).toFixed(3)}`);
  await ours.close();
  await server.stop();
}

void main();
