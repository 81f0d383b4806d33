import { AttemptTimeoutError } from '../classify';
import { IdleTimer } from '../util/idle-timer';

/**
 * Reads a whole response body. Silence longer than `idleTimeoutMs` (0 = no limit) cancels it and rejects
 * with `AttemptTimeoutError`; a transport failure mid-body rejects with the transport's error.
 */
export async function readBody(body: ReadableStream<Uint8Array>, idleTimeoutMs: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let silent = false;
  const idle = new IdleTimer(idleTimeoutMs, () => {
    silent = true;
    reader.cancel().catch(() => undefined);
  });
  idle.arm();
  try {
    for (;;) {
      const chunk = await reader.read();
      if (silent) throw new AttemptTimeoutError();
      if (chunk.done) break;
      idle.touch();
      parts.push(chunk.value);
      size += chunk.value.length;
    }
  } finally {
    idle.stop();
  }
  if (parts.length === 1) return parts[0]!;
  const whole = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}
