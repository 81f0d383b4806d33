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

/**
 * Median client CPU (µs) per call of `call` for each of `clients`: a warm-up of `warmUp` calls each, then
 * `rounds` rounds of `perRound` calls, the clients in random order every round.
 */
export async function cpuPerCall<Name extends string>(
  clients: Record<Name, Anthropic>,
  call: (client: Anthropic) => Promise<unknown>,
  { rounds = 15, perRound = 400, warmUp = 1500 } = {},
): Promise<Record<Name, number>> {
  const names = Object.keys(clients) as Name[];
  const cpu = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (const name of names) for (let i = 0; i < warmUp; i++) await call(clients[name]);
  for (let round = 0; round < rounds; round++) {
    for (const name of [...names].sort(() => Math.random() - 0.5)) {
      const started = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await call(clients[name]);
      const used = process.cpuUsage(started);
      cpu[name].push((used.user + used.system) / perRound);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(cpu[name])])) as Record<Name, number>;
}

/** Median client CPU (µs) per call of `call`, for the raw SDK and ResilientClaude (defaults), on `recorded`. */
export async function clientCpu(
  recorded: RecordedResponse,
  call: (client: Anthropic) => Promise<unknown>,
): Promise<{ raw: number; resilient: number }> {
  const options = { apiKey: 'bench-key', baseURL: 'http://127.0.0.1:9', fetch: replayingFetch(recorded) };
  const resilient = new ResilientClaude(options);
  const result = await cpuPerCall({ raw: new Anthropic(options), resilient }, call);
  await resilient.close();
  return result;
}
