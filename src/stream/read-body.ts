import { AttemptTimeoutError } from '../classify';
import { IdleTimer } from '../util/idle-timer';
import { joinBytes } from '../util/bytes';

/**
 * Reads a whole response body. Silence longer than `idleTimeoutMs` (0 = no limit) cancels it and rejects
 * with `AttemptTimeoutError`; a transport failure mid-body rejects with the transport's error.
 */
export async function readBody(body: ReadableStream<Uint8Array>, idleTimeoutMs: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
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
    }
  } finally {
    idle.stop();
  }
  return joinBytes(parts);
}
