import type Anthropic from '@anthropic-ai/sdk';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { seededRandom } from '../src/keys/strategies';

/** One call of the demo workload. */
export interface DemoCall {
  readonly index: number;
  /** Seconds after the start of the run at which the call is made. */
  readonly at: number;
  readonly model: string;
  readonly user: string;
  /** How the answer is read: one JSON response, `messages.stream()`, or iterating `create({ stream: true })`. */
  readonly mode: 'json' | 'stream-helper' | 'stream-events';
  readonly prompt: string;
}


export const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5', 'claude-opus-4-7'] as const;
export const USERS = ['alice', 'bob', 'carol', 'dave'] as const;
const PROMPTS = [
  'Summarize the release notes in three bullet points.',
  'Translate "good morning, the build is green" into French and German.',
  'Write a haiku about resilient systems.',
  'Classify this support ticket: "the export button does nothing on Safari".',
  'Explain exponential backoff with jitter to a new engineer, with an example.',
  'Draft a short status update for a minor incident that is now resolved.',
];

/**
 * A mixed workload over `seconds`: plain and streaming calls, several users and models. Traffic is not
 * flat: a morning rush (the first 10 s) brings calls three times as fast as the rest of the day, most of
 * them on one model — the kind of burst that runs into that model's rate limits.
 */
export function buildWorkload(calls: number, seconds: number, seed = 7): DemoCall[] {
  const random = seededRandom(seed); // the same seed gives the same workload for both clients
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const rush = 10;
  // Arrival density: 3 during the rush, 1 after; `at` is the inverse of its cumulative distribution.
  const weight = 3 * rush + (seconds - rush);
  const timeOf = (u: number) => {
    const x = u * weight;
    return x < 3 * rush ? x / 3 : rush + (x - 3 * rush);
  };
  return Array.from({ length: calls }, (_, index) => {
    const r = random();
    const at = timeOf(index / calls);
    const rushModel = at < rush && random() < 0.8;
    return {
      index,
      at,
      model: rushModel ? MODELS[0] : pick(MODELS),
      user: pick(USERS),
      mode: r < 0.55 ? 'json' : r < 0.78 ? 'stream-helper' : 'stream-events',
      prompt: pick(PROMPTS),
    };
  });
}

/** What one call came to. */
export interface CallResult {
  readonly call: DemoCall;
  readonly ok: boolean;
  /** A stream that "succeeded" without ever receiving message_stop: a silently shortened answer. */
  readonly silentlyTruncated: boolean;
  readonly errorClass?: string;
  readonly latencyMs: number;
  readonly message?: Message;
}

/** Runs one call through any Anthropic-compatible client. */
export async function runCall(client: Anthropic, call: DemoCall): Promise<CallResult> {
  const started = performance.now();
  const params = {
    model: call.model,
    max_tokens: 200,
    metadata: { user_id: call.user },
    messages: [{ role: 'user' as const, content: call.prompt }],
  };
  try {
    if (call.mode === 'json') {
      const message = await client.messages.create(params);
      return { call, ok: true, silentlyTruncated: false, latencyMs: performance.now() - started, message };
    }
    if (call.mode === 'stream-helper') {
      const message = await client.messages.stream(params).finalMessage();
      return { call, ok: true, silentlyTruncated: false, latencyMs: performance.now() - started, message };
    }
    // Iterating the raw events, as many apps do: an answer is only whole if message_stop arrived.
    let sawStop = false;
    let message: Message | undefined;
    const stream = await client.messages.create({ ...params, stream: true });
    for await (const event of stream) {
      if (event.type === 'message_start') message = { ...event.message };
      if (event.type === 'message_delta' && message) message = { ...message, usage: { ...message.usage, ...event.usage } as Message['usage'] };
      if (event.type === 'message_stop') sawStop = true;
    }
    return { call, ok: true, silentlyTruncated: !sawStop, latencyMs: performance.now() - started, ...(sawStop && message ? { message } : {}) };
  } catch (error) {
    return {
      call,
      ok: false,
      silentlyTruncated: false,
      errorClass: error instanceof Error ? error.name : 'Error',
      latencyMs: performance.now() - started,
    };
  }
}
