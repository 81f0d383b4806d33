/**
 * `npx tsx bench/response-body.ts`: what handing the SDK a JSON body already read costs per call — a
 * native `Response` over the bytes (what the attempt layer built until 0.2) against `BufferedResponse`,
 * each then read with `json()` as the SDK does. Client CPU only, no network.
 */
import { BufferedJson, BufferedResponse } from '../src/util/buffered-response';

const bytes = new TextEncoder().encode(
  JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hello world '.repeat(10) }], usage: { input_tokens: 10, output_tokens: 20 } }),
);
const head = { status: 200, statusText: 'OK', headers: new Headers({ 'content-type': 'application/json' }), url: '', redirected: false };

async function perCall(name: string, once: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20_000; i++) await once();
  const n = 100_000;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await once();
  const used = process.cpuUsage(start);
  console.log(`${name.padEnd(44)} ${((used.user + used.system) / n).toFixed(2)} µs CPU per call`);
}

async function main(): Promise<void> {
  await perCall('native Response(bytes) + json()', () => new Response(bytes, { status: 200, headers: head.headers }).json());
  await perCall('BufferedResponse + json() (parse included)', () => new BufferedResponse(head, new BufferedJson(bytes)).json());
  await perCall('JSON.parse alone', async () => JSON.parse(new TextDecoder().decode(bytes)) as unknown);
}

void main();
