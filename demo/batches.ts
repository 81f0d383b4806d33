import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { callOptions } from '../src/call-options';
import { ResilientClaude } from '../src/client';
import { compressedClock, FakeAnthropicServer } from '../src/testing';
import { table, usd } from './report';
import { buildWorkload, type DemoCall } from './workload';

const CALLS = 200;
/** How long a batch takes on the server's clock: most real batches end within the hour. */
const PROCESSING_MS = 40 * 60_000;
/** Server ms per real ms: the 40 minutes pass in 0.24 s. */
const SPEED = 10_000;
/** A direct answer's time to its headers, real ms (a short answer). */
const LATENCY_MS: [number, number] = [200, 1_000];

interface Side {
  readonly server: FakeAnthropicServer;
  readonly client: ResilientClaude;
  messages: (Message | undefined)[];
  seconds: number;
  /** callComplete records that carry the batch they travelled in. */
  recordsWithBatchId: number;
}

async function side(options: Parameters<typeof FakeAnthropicServer.start>[0]): Promise<Side> {
  const server = await FakeAnthropicServer.start({ seed: 42, recordBodies: false, ...options });
  const client = new ResilientClaude({ apiKey: 'demo-key', baseURL: server.url, logger: false });
  const s: Side = { server, client, messages: [], seconds: 0, recordsWithBatchId: 0 };
  client.on('callComplete', (r) => {
    if (r.notes?.batchId) s.recordsWithBatchId++;
  });
  return s;
}

/** Sends every call at once, as a job would, and waits for all of them. */
async function run(s: Side, calls: readonly DemoCall[], batch: boolean): Promise<void> {
  const started = performance.now();
  const options = batch ? callOptions({ batch: true, tags: ['demo-batch'] }) : undefined;
  s.messages = await Promise.all(
    calls.map((call) =>
      s.client.messages
        .create({ model: call.model, max_tokens: 200, metadata: { user_id: call.user }, messages: [{ role: 'user', content: call.prompt }] }, options)
        .catch(() => undefined),
    ),
  );
  s.seconds = (performance.now() - started) / 1000;
}

const text = (m: Message | undefined) => m?.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
const minutes = (ms: number) => `${(ms / 60_000).toFixed(0)} min`;

/** `Batches: the same 200 calls direct vs batched`: what `callOptions({ batch: true })` changes. */
export async function runBatchesSection(): Promise<void> {
  const calls = buildWorkload(CALLS, 60); // the day's mix of models, users and prompts, all sent as plain calls
  const models = new Set(calls.map((c) => c.model)).size;
  const users = new Set(calls.map((c) => c.user)).size;
  console.log(`\n\nBatches: the same ${CALLS} calls direct vs batched\n`);
  console.log(
    `${CALLS} messages.create calls (${models} models, ${users} users) sent at once, as a nightly job would: first directly, then with\n` +
      `callOptions({ batch: true }). Each batch takes ${minutes(PROCESSING_MS)} on the fake server's clock, which runs ${SPEED.toLocaleString('en-US')}× fast here.\n`,
  );

  const direct = await side({ latency: { headersMs: LATENCY_MS } });
  const batched = await side({ clock: compressedClock(SPEED), batches: { processingMs: PROCESSING_MS } });
  try {
    await run(direct, calls, false);
    await run(batched, calls, true);

    const toMessages = (s: Side) => s.server.ledger.filter((r) => r.path === '/v1/messages').length;
    const requests = [direct.server.stats().requests, batched.server.stats().requests] as const;
    const created = batched.server.batchesCreated();
    // The batch's own processing time, as the API reports it (created_at → ended_at).
    const views = await Promise.all(created.map((b) => batched.client.messages.batches.retrieve(b.id)));
    const processingMs = Math.max(...views.map((v) => Date.parse(v.ended_at!) - Date.parse(v.created_at)));
    const same = calls.filter((_, i) => text(direct.messages[i]) !== undefined && text(direct.messages[i]) === text(batched.messages[i])).length;
    const a = direct.client.costs!.summary();
    const b = batched.client.costs!.summary();
    const answered = (s: Side) => s.messages.filter(Boolean).length;

    console.log(
      table([
        ['', 'direct', 'batch: true'],
        ['calls answered', `${answered(direct)} of ${CALLS}`, `${answered(batched)} of ${CALLS}`],
        ['  the same answer as direct', '—', `${same} of ${CALLS}`],
        ['requests to /v1/messages', String(toMessages(direct)), String(toMessages(batched))],
        ['batches created', String(direct.server.batchesCreated().length), String(created.length)],
        ['HTTP requests in all', String(requests[0]), String(requests[1])],
        ['total cost (client.costs)', usd(a.totalUsd), usd(b.totalUsd)],
        ['savedUsd', usd(a.savedUsd), usd(b.savedUsd)],
        ['time to results', `${direct.seconds.toFixed(1)} s`, `${minutes(processingMs)} (+ ≤ 60 s to the next check)`],
      ]),
    );
    // Only the server's clock is compressed: the client waits for real (gathering 0.5 s, first check after 1 s).
    console.log(
      `\n(Wall time here: direct ${direct.seconds.toFixed(1)} s; batched ${batched.seconds.toFixed(1)} s, in which the ${minutes(processingMs)} took ` +
        `${(processingMs / SPEED / 1000).toFixed(2)} s and the rest is the client\n gathering calls for 0.5 s and checking the batch after 1 s, its default timers.)`,
    );

    const share = a.totalUsd > 0 ? (b.savedUsd / (b.totalUsd + b.savedUsd)) * 100 : 0;
    console.log(
      [
        '',
        'What happened:',
        `- Direct: ${toMessages(direct)} requests, all ${CALLS} answers within ${direct.seconds.toFixed(1)} s, at standard prices.`,
        `- Batched: the client gathered the ${CALLS} calls into ${created.length} Message Batch (${requests[1]} HTTP requests: create, status checks,`,
        `  results) and resolved each call with its own Message: ${same} of ${CALLS} answers are the ones the direct calls got.`,
        `- Cost: ${usd(b.totalUsd)} instead of ${usd(a.totalUsd)}; client.costs.summary().savedUsd = ${usd(b.savedUsd)} (${share.toFixed(0)}% off). Every call`,
        `  still has its callComplete record (${batched.recordsWithBatchId} carry notes.batchId), priced at the batch rate.`,
        `- The price is time: ${minutes(processingMs)} instead of ${direct.seconds.toFixed(1)} s. Batch work that can wait (nightly jobs, evals, backfills),`,
        '  not a user who is waiting.',
      ].join('\n'),
    );
  } finally {
    await Promise.all([direct.client.close(), batched.client.close()]);
    await Promise.all([direct.server.close(), batched.server.close()]);
  }
}
