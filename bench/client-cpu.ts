/**
 * Client CPU per call with the network taken out: both clients get a `fetch` that answers at once with a
 * response recorded from the fake server (rate-limit headers included). On loopback the SDK's own socket
 * and HTTP work (~450 µs a call here) and the machine's noise hide tens of microseconds; here what is left
 * is the client's own work, so the difference between the two is what the layers add, within a few µs.
 * Rounds alternate between the clients in random order; the median round counts.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from '../src/client';
import { median } from './harness';

/** One recorded response: its body and headers. */
export interface RecordedResponse {
  readonly body: string;
  readonly headers: readonly (readonly [string, string])[];
}

/** Records a create and a 20-delta stream from a server, to replay them in process. */
export async function recordResponses(baseURL: string, params: object): Promise<Record<'create' | 'stream', RecordedResponse>> {
  const record = async (stream: boolean): Promise<RecordedResponse> => {
    const response = await fetch(`${baseURL}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'bench-key', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream }),
    });
    const body = await response.text();
    // Framing headers describe the recorded connection, not the replayed body.
    const headers = [...response.headers].filter(([name]) => !['content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name));
    return { body, headers };
  };
  return { create: await record(false), stream: await record(true) };
}

/** A `fetch` answering every request with `recorded` (a fresh request id each time). */
export function replayingFetch(recorded: RecordedResponse): typeof fetch {
  let n = 0;
  return (async () =>
    new Response(recorded.body, {
      status: 200,
      headers: recorded.headers.map(([name, value]) => [name, name === 'request-id' ? `req_replay_${++n}` : value] as [string, string]),
    })) as unknown as typeof fetch;
}

/** Median client CPU (µs) per call of `call`, for the raw SDK and ResilientClaude (defaults), on `recorded`. */
export async function clientCpu(
  recorded: RecordedResponse,
  call: (client: Anthropic) => Promise<unknown>,
  rounds = 15,
  perRound = 400,
): Promise<{ raw: number; resilient: number }> {
  const options = { apiKey: 'bench-key', baseURL: 'http://127.0.0.1:9', fetch: replayingFetch(recorded) };
  const clients = { raw: new Anthropic(options), resilient: new ResilientClaude(options) };
  const cpu: Record<keyof typeof clients, number[]> = { raw: [], resilient: [] };
  for (const client of Object.values(clients)) for (let i = 0; i < 1500; i++) await call(client);
  for (let round = 0; round < rounds; round++) {
    const order = Math.random() < 0.5 ? (['raw', 'resilient'] as const) : (['resilient', 'raw'] as const);
    for (const name of order) {
      const started = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await call(clients[name]);
      const used = process.cpuUsage(started);
      cpu[name].push((used.user + used.system) / perRound);
    }
  }
  await clients.resilient.close();
  return { raw: median(cpu.raw), resilient: median(cpu.resilient) };
}
